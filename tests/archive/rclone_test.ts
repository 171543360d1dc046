/** rclone's remote syntax, argv builders and output parsers (pure). */
import assert from "node:assert/strict";
import {
  copyArgs,
  failureOf,
  niceCommand,
  parseLogLine,
  parseStat,
  probeArgs,
} from "../../src/archive/rclone.ts";
import {
  parseRemote,
  redactRemote,
  remotePath,
  remoteSecrets,
  validateBwlimit,
  validateFolder,
} from "../../src/archive/rclone_remote.ts";
import { redactSecrets } from "../../src/server/redact_secrets.ts";

Deno.test("parseRemote splits a named remote, a connection string and a local folder", () => {
  assert.deepEqual(parseRemote("nas:dashcam"), {
    remote: "nas:",
    path: "dashcam",
    params: [],
    local: false,
  });
  assert.deepEqual(parseRemote(" :sftp,host=nas.local,user=pi:dashcam/ "), {
    remote: ":sftp,host=nas.local,user=pi:",
    path: "dashcam",
    params: [["host", "nas.local"], ["user", "pi"]],
    local: false,
  });
  // A quoted value may hold the colon and commas.
  const dav = parseRemote(":webdav,url='http://127.0.0.1:8080/dav',user=u:base");
  assert.equal(dav.remote, ":webdav,url='http://127.0.0.1:8080/dav',user=u:");
  assert.deepEqual(dav.params, [["url", "http://127.0.0.1:8080/dav"], ["user", "u"]]);
  assert.equal(dav.path, "base");
  assert.deepEqual(parseRemote("nas,user=car2:"), {
    remote: "nas,user=car2:",
    path: "",
    params: [["user", "car2"]],
    local: false,
  });
  assert.equal(parseRemote("/mnt/usb/dashcam/").local, true);
  assert.equal(
    remotePath(parseRemote("/mnt/usb/dashcam/"), "car1", "a.mkv"),
    "/mnt/usb/dashcam/car1/a.mkv",
  );
});

Deno.test("parseRemote refuses what rclone would not take, with a sentence", () => {
  for (
    const [text, why] of [
      ["", /expected a remote/],
      ["dashcam", /no colon/],
      ["::dashcam", /needs a backend/],
      [":sftp,host='nas:dashcam", /quote is not closed/],
      [":sftp,host:dashcam", /KEY=VALUE/],
      ["nas:../etc", /may not contain \.\./],
      ["na/s:x", /bad remote name/],
      ["nas:x\ny", /control character/],
    ] as const
  ) {
    assert.throws(() => parseRemote(text), (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /^Invalid archive remote /);
      assert.match(error.message, why);
      return true;
    });
  }
});

Deno.test("remotePath joins the remote's path, the car's folder and the clip", () => {
  assert.equal(remotePath(parseRemote("nas:dashcam"), "car1", "x.mkv"), "nas:dashcam/car1/x.mkv");
  assert.equal(remotePath(parseRemote("nas:"), "car1"), "nas:car1");
  assert.equal(
    remotePath(parseRemote(":s3,provider=Minio:bucket/fleet/"), "van-2/", "/x.mp4"),
    ":s3,provider=Minio:bucket/fleet/van-2/x.mp4",
  );
});

Deno.test("redactRemote masks connection-string secrets and values rclone echoes", () => {
  const remote =
    ":s3,provider=Minio,access_key_id=AKIA123,secret_access_key=s3cr3tKey,endpoint='http://m:9000':b";
  assert.equal(
    redactRemote(remote),
    ":s3,provider=Minio,access_key_id='***',secret_access_key='***',endpoint='http://m:9000':b",
  );
  const spec = parseRemote(":sftp,host=nas,user=pi,pass=Obscured99:dashcam");
  assert.deepEqual(remoteSecrets(spec), ["Obscured99"]);
  assert.equal(
    redactRemote('Failed to create file system for "x": bad key Obscured99 here', ["Obscured99"]),
    'Failed to create file system for "x": bad key *** here',
  );
  assert.equal(redactRemote("nas:dashcam/car1"), "nas:dashcam/car1");
  // Stays whole when /api/status masks its strings again (redactSecrets).
  const masked = redactRemote(":sftp,host=nas,user=pi,pass=Obscured99,shell_type=unix:d/car1");
  assert.equal(masked, ":sftp,host=nas,user=pi,pass='***',shell_type=unix:d/car1");
  assert.equal(redactSecrets(masked), ":sftp,host=nas,user=pi,pass=***,shell_type=unix:d/car1");
});

Deno.test("validateFolder takes a car's name and refuses paths that escape", () => {
  assert.equal(validateFolder("car1"), "car1");
  assert.equal(validateFolder("fleet/van-2"), "fleet/van-2");
  for (const bad of ["", "..", "a/../b", "/abs", "a b", "x/", "a\\b"]) {
    assert.throws(() => validateFolder(bad), /^RangeError: Invalid archive folder/);
  }
});

Deno.test("validateBwlimit takes rclone's --bwlimit forms and refuses others", () => {
  for (const good of ["", "1M", "512k", "1.5M", "10M:100k", "off", "08:00,512k 19:00,off"]) {
    assert.equal(validateBwlimit(good), good);
  }
  assert.equal(validateBwlimit("Mon-08:00,1M Sat-00:00,off"), "Mon-08:00,1M Sat-00:00,off");
  for (const bad of ["fast", "1 M", "1M;rm", "-1M", "--bwlimit=1M"]) {
    assert.throws(() => validateBwlimit(bad), /Invalid archive bandwidth limit/);
  }
});

Deno.test("copyArgs uploads one file with the limit and one-line JSON stats every second", () => {
  const args = copyArgs("/out/locked/a.mkv", "nas:d/car1/a.mkv", {
    bwlimit: "1M",
    config: "/etc/rclone.conf",
  });
  assert.equal(args[0], "copyto");
  assert.deepEqual(args.slice(-2), ["/out/locked/a.mkv", "nas:d/car1/a.mkv"]);
  const flag = (name: string) => args[args.indexOf(name) + 1];
  assert.equal(flag("--bwlimit"), "1M");
  assert.equal(flag("--stats"), "1s");
  assert.equal(flag("--config"), "/etc/rclone.conf");
  assert.equal(flag("--retries"), "1");
  assert.ok(args.includes("--stats-one-line") && args.includes("--use-json-log"));
  assert.ok(!copyArgs("a", "b").includes("--bwlimit"));
  assert.deepEqual(probeArgs("nas:d/car1").slice(0, 4), [
    "lsf",
    "--max-depth",
    "1",
    "--files-only",
  ]);
});

Deno.test("niceCommand runs rclone under nice and ionice when they exist", () => {
  assert.deepEqual(niceCommand("rclone", ["lsf", "x:"], { nice: true, ionice: true }), {
    program: "nice",
    args: ["-n", "19", "ionice", "-c3", "rclone", "lsf", "x:"],
  });
  assert.deepEqual(niceCommand("rclone", ["lsf"], { nice: false, ionice: true }), {
    program: "ionice",
    args: ["-c3", "rclone", "lsf"],
  });
  assert.deepEqual(niceCommand("/opt/rclone", ["lsf"], { nice: false, ionice: false }), {
    program: "/opt/rclone",
    args: ["lsf"],
  });
});

Deno.test("parseLogLine reads rclone 1.60's JSON stats, errors and plain fatal lines", () => {
  // Lines as rclone 1.60 prints them with --use-json-log --stats 1s --stats-one-line -v.
  const stats = parseLogLine(
    '{"level":"info","msg":"    1.965 MiB / 2.861 MiB, 69%, 987.584 KiB/s, ETA 0s\\n","source":"accounting/stats.go:482","stats":{"bytes":2060288,"checks":0,"elapsedTime":2.08,"errors":0,"eta":0,"speed":1011286.63,"totalBytes":3000000,"totalTransfers":1,"transferring":[{"bytes":2060288,"eta":0,"group":"global_stats","name":"a.mkv","percentage":68,"size":3000000,"speed":1033458.59,"speedAvg":1010676.16}],"transfers":0},"time":"2026-12-02T16:44:41.884648+00:00"}',
  );
  assert.deepEqual(stats?.progress, { bytes: 2060288, total: 3000000, rate: 1033459 });
  const done = parseLogLine(
    '{"level":"info","msg":"2.861 MiB / 2.861 MiB, 100%","stats":{"bytes":3000000,"speed":1029559.3,"totalBytes":3000000,"transfers":1}}',
  );
  assert.deepEqual(done?.progress, { bytes: 3000000, total: 3000000, rate: 1029559 });
  const error = parseLogLine(
    '{"level":"error","msg":"Failed to copy: sftp: \\"no space left on device\\"","object":"a.mkv"}',
  );
  assert.deepEqual(error, {
    level: "error",
    message: 'a.mkv: Failed to copy: sftp: "no space left on device"',
  });
  const fatal = parseLogLine(
    '2026/12/02 16:45:36 Failed to create file system for ":sftp,host=h:b": NewFs: couldn\'t connect SSH: dial tcp 127.0.0.1:18999: connect: connection refused',
  );
  assert.equal(fatal?.level, "error");
  assert.match(fatal!.message, /^Failed to create file system .*connection refused$/);
  assert.deepEqual(parseLogLine("2026/12/02 16:44:48 NOTICE: webdav root 'b': 1 matching files"), {
    level: "notice",
    message: "webdav root 'b': 1 matching files",
  });
  assert.equal(parseLogLine("  "), null);
  const noise = parseLogLine(
    '{"level":"warning","msg":"Can\'t save config \\"shell_type\\" for on the fly backend \\":sftp\\""}',
  )!;
  assert.equal(failureOf([error!, noise]), error!.message);
  assert.equal(failureOf([noise]), null);
  // rclone 1.60 on a full SFTP server: the last line wraps the reason.
  const full = [
    '{"level":"error","msg":"Failed to copy: Update Close failed: sftp: \\"write /srv/a.mkv: no space left on device\\" (SSH_FX_FAILURE)","object":"a.mkv"}',
    '{"level":"error","msg":"Attempt 1/1 failed with 1 errors and: Update Close failed: sftp: \\"write /srv/a.mkv: no space left on device\\" (SSH_FX_FAILURE)"}',
  ].map((line) => parseLogLine(line)!);
  assert.equal(
    failureOf(full),
    'Update Close failed: sftp: "write /srv/a.mkv: no space left on device" (SSH_FX_FAILURE)',
  );
});

Deno.test("parseStat reads lsjson --stat --hash of one file", () => {
  const sftp = parseStat(
    '{"Path":"a.mkv","Name":"a.mkv","Size":3000000,"IsDir":false,"Hashes":{"md5":"5A3C85","sha1":"c676"}}',
  );
  assert.deepEqual(sftp, { size: 3000000, hashes: { md5: "5a3c85", sha1: "c676" } });
  assert.deepEqual(parseStat('{"Path":"a","Name":"a","Size":5,"IsDir":false}'), {
    size: 5,
    hashes: {},
  });
  assert.equal(parseStat('{"Path":"d","Size":-1,"IsDir":true}'), null);
  assert.equal(parseStat("not json"), null);
});
