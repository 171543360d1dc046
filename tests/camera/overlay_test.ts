import assert from "node:assert/strict";
import {
  annotateCvConfig,
  DEFAULT_OVERLAY,
  drawtextFilter,
  overlayFormatProblem,
} from "../../src/camera/overlay.ts";
import { lavfi } from "../_helpers.ts";

const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

Deno.test("overlayFormatProblem accepts strftime formats and refuses what cannot be drawn", () => {
  for (const format of [DEFAULT_OVERLAY, "%d.%m.%Y %X", "", "%F %T %Z"]) {
    assert.equal(overlayFormatProblem(format), undefined, format);
  }
  assert.match(overlayFormatProblem("%{pts}")!, /braces/);
  assert.match(overlayFormatProblem("%F\n%T")!, /control/);
  assert.match(overlayFormatProblem("x".repeat(101))!, /longer than 100/);
});

Deno.test("annotateCvConfig is one annotate_cv stage with rpicam-apps' options", () => {
  assert.deepEqual(annotateCvConfig("%F %T"), {
    annotate_cv: { text: "%F %T", fg: 255, bg: 0, scale: 1, thickness: 2, alpha: 0.5 },
  });
});

Deno.test("drawtextFilter draws the local time in the format, colons and quotes escaped", async () => {
  const filter = drawtextFilter("%H:%M:%S 'x'", { fontFile: FONT, height: 360 });
  assert.match(filter, /fontsize=20/);
  // ffmpeg accepts it and draws something: the picture differs from the one without.
  const frame = (vf: string[]) =>
    lavfi("color=c=gray:size=320x180", [
      ...vf,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "gray",
      "-",
    ]);
  const [plain, drawn] = await Promise.all([frame([]), frame(["-vf", filter])]);
  assert.equal(drawn.length, plain.length);
  assert.notDeepEqual(drawn, plain);
});
