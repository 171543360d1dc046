/** The multipart boundary of a played-back clip. */
const BOUNDARY = "videorecorderclip";

/**
 * Plays a recorded MJPEG clip in a browser `<img>`: ffmpeg copies its JPEGs, paced at their
 * recorded times (`-re`), into `multipart/x-mixed-replace` without transcoding. The ffmpeg is
 * killed as soon as the viewer goes away.
 */
export function mjpegClipResponse(path: string): Response {
  const child = new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-re",
      "-i",
      path,
      "-c",
      "copy",
      "-f",
      "mpjpeg",
      "-boundary_tag",
      BOUNDARY,
      "-",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await reader.cancel().catch(() => {});
      await child.status;
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    headers: {
      "content-type": `multipart/x-mixed-replace;boundary=${BOUNDARY}`,
      "cache-control": "no-store",
    },
  });
}
