import assert from "node:assert/strict";
import { arch } from "node:os";
import {
  choosePreviewDecoder,
  decoderInputArgs,
  hasV4l2m2mDecoder,
  probeDecoderSystem,
} from "../../src/camera/preview_decoder.ts";
import { run } from "../_helpers.ts";

/** 30 fps, a keyframe a second (the Pi camera's defaults), preview at 5 fps. */
const rate = { fps: 5, cameraFps: 30, intra: 30 };
const pi = { arch: "arm64", v4l2m2m: true, m2mDevice: "/dev/video10" };

Deno.test("choosePreviewDecoder takes the Pi's hardware decoder when ffmpeg and the device have it", () => {
  const choice = choosePreviewDecoder(pi, rate);
  assert.equal(choice.decoder, "h264_v4l2m2m");
  assert.equal(choice.keyframesOnly, false, "hardware decodes the rate asked for");
  assert.match(choice.reason, /hardware decoder at \/dev\/video10/);
  assert.deepEqual(decoderInputArgs(choice), ["-c:v", "h264_v4l2m2m"]);
  // Keyframes still do when they meet the rate.
  assert.equal(choosePreviewDecoder(pi, { ...rate, fps: 1 }).keyframesOnly, true);
});

Deno.test("choosePreviewDecoder decodes keyframes only in software on ARM", () => {
  for (
    const system of [
      { ...pi, m2mDevice: null }, // Pi 5: no H.264 decoder block
      { ...pi, v4l2m2m: false }, // an ffmpeg built without it
      { arch: "arm", v4l2m2m: false, m2mDevice: null }, // 32-bit Raspberry Pi OS
    ]
  ) {
    const choice = choosePreviewDecoder(system, rate);
    assert.equal(choice.decoder, "h264", JSON.stringify(system));
    assert.equal(choice.keyframesOnly, true, JSON.stringify(system));
    assert.match(choice.reason, /keyframes only, 1\/s/);
    assert.deepEqual(decoderInputArgs(choice), ["-skip_frame", "nokey"]);
  }
  assert.match(choosePreviewDecoder({ ...pi, m2mDevice: null }, rate).reason, /no V4L2 mem2mem/);
  assert.match(choosePreviewDecoder({ ...pi, v4l2m2m: false }, rate).reason, /no h264_v4l2m2m/);
});

Deno.test("choosePreviewDecoder keeps the rate asked for in software on x86", () => {
  const pc = { arch: "x64", v4l2m2m: true, m2mDevice: null };
  const choice = choosePreviewDecoder(pc, rate);
  assert.deepEqual([choice.decoder, choice.keyframesOnly], ["h264", false]);
  assert.deepEqual(decoderInputArgs(choice), []);
  const slow = choosePreviewDecoder(pc, { ...rate, fps: 1 });
  assert.equal(slow.keyframesOnly, true, "keyframes meet 1 fps");
  assert.match(slow.reason, /keyframes \(1\/s\) meet the 1 fps asked/);
});

Deno.test("hasV4l2m2mDecoder reads ffmpeg's decoder list", async () => {
  const listed = " V..... h264_v4l2m2m         V4L2 mem2mem H.264 decoder wrapper (codec h264)\n";
  assert.equal(hasV4l2m2mDecoder(listed), true);
  assert.equal(hasV4l2m2mDecoder(" V....D h264  H.264\n V..... hevc_v4l2m2m  HEVC\n"), false);
  // And this machine's ffmpeg says the same as its list.
  const real = new TextDecoder().decode(await run(["ffmpeg", "-hide_banner", "-decoders"]));
  assert.equal(hasV4l2m2mDecoder(real), / h264_v4l2m2m /.test(real));
});

Deno.test("probeDecoderSystem reports this machine", async () => {
  const system = await probeDecoderSystem();
  assert.equal(system.arch, arch());
  const real = new TextDecoder().decode(await run(["ffmpeg", "-hide_banner", "-decoders"]));
  assert.equal(system.v4l2m2m, / h264_v4l2m2m /.test(real));
  const device = await Deno.stat("/dev/video10").then(() => true, () => false);
  if (!device) assert.equal(system.m2mDevice, null, "no decoder device here");
});
