/**
 * The GPS part of `/api/status`, in a module of its own so that the page's type check
 * (`src/server/api_documents.ts`) takes in no more than this.
 *
 * @module
 */

/** A fix, at most one per second of GPS time. */
export interface GpsFix {
  /** UTC time of the fix (the receiver's), ms since the epoch. */
  time: number;
  lat: number;
  lon: number;
  /** Metres above mean sea level, or null. */
  alt: number | null;
  /** Metres per second, or null. */
  speed: number | null;
  /** Course over ground, degrees from true north, or null. */
  heading: number | null;
  /** 2D or 3D. */
  mode: 2 | 3;
  /** Satellites used, from the newest SKY report, or null. */
  satellites: number | null;
}

/** The GPS part of `/api/status`. */
export interface GpsStatus {
  /** The setting: `auto`, `off` or `host:port`. */
  setting: string;
  /**
   * `off` (setting); `absent` (auto, and no gpsd runs); `connecting`; `connected`;
   * `disconnected` (a gpsd that was asked for is not there or went away: reconnecting).
   */
  state: "off" | "absent" | "connecting" | "connected" | "disconnected";
  /** The gpsd asked: `host:port`, or null when off. */
  server: string | null;
  /** `none` (no fix, or none for a while), `2d`, `3d`. */
  fix: "none" | "2d" | "3d";
  /** The newest position (kept when the fix is lost: where the car was last seen). */
  lat: number | null;
  lon: number | null;
  alt: number | null;
  /** m/s. */
  speed: number | null;
  /** Degrees from true north. */
  heading: number | null;
  /** GPS time of the newest fix, ms since the epoch. */
  time: number | null;
  /** Satellites used in the fix; null before a SKY report. */
  satellites: number | null;
  /** Satellites seen. */
  satellites_seen: number | null;
  /** GPS receivers gpsd reads; null until it says. */
  devices: number | null;
  /** What the page shows, as a sentence. */
  message: string;
  last_error: string | null;
}

/** `/api/status`'s `gps`: {@linkcode GpsStatus} and the track being written. */
export interface GpsReport extends GpsStatus {
  track: {
    /** The clip's track being written (`000043.recording.gpx`), or null. */
    file: string | null;
    /** Points in it. */
    points: number;
    /** Points written since launch. */
    total: number;
    /** Points the card did not take. */
    dropped: number;
    last_error: string | null;
  };
}
