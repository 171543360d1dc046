// @ts-check
/// <reference lib="dom" />
/**
 * The page's state: the last status and settings from the server, the clip list, the clock skew.
 *
 * @module
 */

/**
 * The server's documents, typed by the server's own declarations.
 * @typedef {import("../../src/server/api_documents.ts").StatusDocument} StatusDocument
 * @typedef {import("../../src/server/api_documents.ts").StorageReport} StorageReport
 * @typedef {import("../../src/server/api_documents.ts").HealthReport} HealthReport
 * @typedef {import("../../src/server/api_documents.ts").RecorderReport} RecorderReport
 * @typedef {import("../../src/server/api_documents.ts").EditableSettings} Settings
 * @typedef {import("../../src/server/api_documents.ts").SettingsDocument} SettingsDocument
 * @typedef {import("../../src/server/api_documents.ts").SettingsSaved} SettingsSaved
 * @typedef {import("../../src/server/api_documents.ts").ClipsDocument} ClipsDocument
 * @typedef {import("../../src/server/api_documents.ts").LockNowDocument} LockNowDocument
 * @typedef {ClipsDocument["clips"][number]} Clip one clip as listed
 */

/** Clips shown at first and added by "Show more". */
export const CLIPS_PAGE = 24;

export const state = {
  /** @type {StatusDocument | null} the last `/api/status` */
  status: null,
  /** @type {boolean | null} whether the last status request got an answer */
  online: /** @type {boolean | null} */ (null),
  /** The recorder's clock minus the phone's, in ms. */
  skewMs: 0,
  /** @type {Settings | null} the settings as the server has them */
  settings: null,
  /** @type {Clip[]} newest first */
  clips: [],
  shownClips: CLIPS_PAGE,
  /** Changes when clips were added, closed or removed; see {@link clipsKey}. */
  clipsKey: "",
  clipsLoadedAt: 0,
  /** When the last status answer came, ms since the epoch (phone's clock); 0: never. */
  lastContact: 0,
};
