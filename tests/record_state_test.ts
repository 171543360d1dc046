/**
 * The record indicator's truth: pure cases, then the real recorder (test pattern or a failing
 * command, real ffmpeg, real files) through Dashcam.recordState().
 */
import assert from "node:assert/strict";
import {
  describeRecordState,
  type RecordStateInput,
  RecordStateTracker,
} from "../src/record_state.ts";
import { runningDashcam } from "./_dashcam.ts";
import { waitFor } from "./_helpers.ts";

const NOW = 1_800_000_000_000;

/** A recorder that records: frames just arrived, the clip just grew. */
function healthy(): RecordStateInput {
  return {
    wanted: true,
    blocked: null,
    storage: { lastError: null },
    camera: {
      state: "running",
      lastFrameAt: NOW - 30,
      lastError: null,
      stderr: [],
      restartAt: null,
    },
    recorder: { state: "running", lastError: null, fault: null, restartAt: null },
    lastGrowthAt: NOW - 500,
    now: NOW,
  };
}

Deno.test("describeRecordState says recording only while frames arrive and the clip grows", () => {
  assert.deepEqual(describeRecordState(healthy()), { state: "recording", message: "Recording" });
  const grewLongAgo = { ...healthy(), lastGrowthAt: NOW - 8_000 };
  assert.deepEqual(describeRecordState(grewLongAgo), {
    state: "stalled",
    message: "Not recording: the clip has not grown for 8 s",
  });
  const frozenPicture = healthy();
  frozenPicture.camera.lastFrameAt = NOW - 12_000;
  assert.deepEqual(describeRecordState(frozenPicture), {
    state: "camera",
    message: "Not recording: no picture from the camera for 12 s",
  });
  assert.equal(describeRecordState({ ...healthy(), lastGrowthAt: null }).state, "starting");
});

Deno.test("describeRecordState gives every other state its own sentence, the way out first", () => {
  assert.deepEqual(describeRecordState({ ...healthy(), wanted: false }), {
    state: "paused",
    message: "Not recording: tap Record to start",
  });
  assert.deepEqual(
    describeRecordState({
      ...healthy(),
      blocked: { reason: "Free space is 1 MiB, under the 2 MiB free-space floor." },
    }),
    {
      state: "blocked",
      message:
        "Not recording: Free space is 1 MiB, under the 2 MiB free-space floor. Unlock or delete clips to make room",
    },
  );
  const failing = healthy();
  failing.camera = {
    state: "backoff",
    lastFrameAt: null,
    lastError: "Camera exited with code 1",
    stderr: ["ERROR: *** no cameras available ***"],
    restartAt: NOW + 2_000,
  };
  assert.deepEqual(describeRecordState(failing), {
    state: "camera",
    message:
      "Not recording: the camera fails: ERROR: *** no cameras available ***; retrying in 2 s",
  });
  const faulty = healthy();
  faulty.recorder.fault = "Clip 000042.recording.mkv has waited 31 s to be saved";
  assert.equal(describeRecordState(faulty).state, "stalled");
  assert.match(describeRecordState(faulty).message, /waited 31 s to be saved/);
  const crashing = healthy();
  crashing.recorder = {
    state: "backoff",
    lastError: "Recorder exited with code 1",
    fault: null,
    restartAt: NOW + 1_000,
  };
  assert.deepEqual(describeRecordState(crashing), {
    state: "stalled",
    message: "Not recording: Recorder exited with code 1; retrying in 1 s",
  });
  const noCard = { ...crashing, storage: { lastError: "Cannot read /media/card: not found" } };
  assert.equal(describeRecordState(noCard).state, "blocked");
});

Deno.test("RecordStateTracker sees growth and keeps since while the state holds", () => {
  const tracker = new RecordStateTracker();
  /** The parts' status at `now`: frames keep arriving. */
  const at = (now: number) => {
    const input = { ...healthy(), now };
    input.camera.lastFrameAt = now - 30;
    return input;
  };
  assert.equal(tracker.update({ seq: 3, bytes: 0 }, at(NOW)).state, "starting", "a bare header");
  const first = tracker.update({ seq: 3, bytes: 4_000 }, at(NOW + 1_000));
  assert.deepEqual(first, { state: "recording", message: "Recording", since: NOW + 1_000 });
  const same = tracker.update({ seq: 3, bytes: 9_000 }, at(NOW + 4_000));
  assert.equal(same.since, NOW + 1_000, "still recording since the first growth");
  // A new clip is progress even with only its header written.
  assert.equal(tracker.update({ seq: 4, bytes: 300 }, at(NOW + 8_000)).state, "recording");
  const stuck = tracker.update({ seq: 4, bytes: 300 }, at(NOW + 14_000));
  assert.deepEqual(stuck, {
    state: "stalled",
    message: "Not recording: the clip has not grown for 6 s",
    since: NOW + 14_000,
  });
});

async function dashcam(source: string, args: string[] = []) {
  const t = await runningDashcam({
    prefix: "record_state_test_",
    source,
    fps: 10,
    segment: 2,
    args,
  });
  return Object.assign(t.dashcam, { [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() });
}

Deno.test("Dashcam.recordState is recording with the test pattern, paused when stopped", async () => {
  await using cam = await dashcam("test");
  const recording = await waitFor("recording", async () => {
    const state = await cam.recordState();
    return state.state === "recording" ? state : undefined;
  }, 15_000);
  assert.equal(recording.message, "Recording");
  await cam.stopRecording();
  assert.equal((await cam.recordState()).state, "paused");
});

Deno.test("Dashcam.recordState names a camera command that fails, with its own words", async () => {
  await using cam = await dashcam("command", [
    "--command",
    "echo 'no cameras available' >&2; exit 1",
  ]);
  const failing = await waitFor("the camera state", async () => {
    const state = await cam.recordState();
    return state.state === "camera" ? state : undefined;
  });
  assert.match(failing.message, /^Not recording: the camera fails: no cameras available/);
  // It stays so: never "recording" while the camera cannot start.
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.notEqual((await cam.recordState()).state, "recording");
  }
});
