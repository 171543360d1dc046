/**
 * GPX 1.1 text for a clip's track, written a line at a time so a file cut off by a power cut
 * is a prefix of lines that {@linkcode closeGpx} makes whole again. Speed and heading go in
 * Garmin's TrackPointExtension v2 (`gpxtpx:speed` in m/s, `gpxtpx:course` in degrees), which
 * GPX readers (GPSBabel, QGIS, Garmin BaseCamp, dashcam viewers) understand.
 *
 * @module
 */
import type { GpsFix } from "./gps_report.ts";

/** The closing tags every track ends with. */
export const GPX_FOOTER = "</trkseg></trk>\n</gpx>\n";

/** The opening of a track named `name` (a clip's id), up to its `<trkseg>` line. */
export function gpxHeader(name: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<gpx version="1.1" creator="videorecorder" xmlns="http://www.topografix.com/GPX/1/1"' +
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">\n' +
    `<trk><name>${escapeXml(name)}</name><trkseg>\n`;
}

/** One `<trkpt>` line (with its newline). */
export function gpxPoint(fix: GpsFix): string {
  const parts = [`<trkpt lat="${fix.lat.toFixed(7)}" lon="${fix.lon.toFixed(7)}">`];
  if (fix.alt !== null) parts.push(`<ele>${fix.alt.toFixed(1)}</ele>`);
  parts.push(`<time>${new Date(fix.time).toISOString().replace(".000Z", "Z")}</time>`);
  parts.push(`<fix>${fix.mode}d</fix>`);
  if (fix.satellites !== null) parts.push(`<sat>${fix.satellites}</sat>`);
  if (fix.speed !== null || fix.heading !== null) {
    parts.push("<extensions><gpxtpx:TrackPointExtension>");
    if (fix.speed !== null) parts.push(`<gpxtpx:speed>${fix.speed.toFixed(2)}</gpxtpx:speed>`);
    if (fix.heading !== null) {
      parts.push(`<gpxtpx:course>${fix.heading.toFixed(1)}</gpxtpx:course>`);
    }
    parts.push("</gpxtpx:TrackPointExtension></extensions>");
  }
  parts.push("</trkpt>\n");
  return parts.join("");
}

/**
 * A complete GPX document from `text`, a track as {@linkcode gpxHeader} and
 * {@linkcode gpxPoint} wrote it, perhaps cut off anywhere: a half-written last line is
 * dropped and the closing tags added. Null when not even the header is there (nothing to
 * keep). A closed track comes back as it is.
 */
export function closeGpx(text: string, name: string): string | null {
  if (text.endsWith(GPX_FOOTER)) return text;
  const open = text.indexOf("<trkseg>\n");
  if (open < 0) return null;
  const points = text.slice(open + "<trkseg>\n".length);
  const end = points.lastIndexOf("</trkpt>\n");
  // Closing tags in the middle: the track went on after a close (a clip number reused).
  const kept = end < 0 ? "" : points.slice(0, end + "</trkpt>\n".length).replaceAll(GPX_FOOTER, "");
  // Rebuilt from our own header, so a header damaged by a bad sector cannot stay.
  return gpxHeader(name) + kept + GPX_FOOTER;
}

/** The first point's position in a track's text (its first few KB do), or null. */
export function firstTrackPoint(text: string): { lat: number; lon: number } | null {
  const match = /<trkpt lat="(-?[\d.]+)" lon="(-?[\d.]+)"/.exec(text);
  if (!match) return null;
  const lat = Number(match[1]);
  const lon = Number(match[2]);
  return Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : null;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
