// @ts-check
/// <reference lib="dom" />
/**
 * The page's state: the last status and settings from the server, the clip list, the clock skew.
 *
 * @module
 */

/** Clips shown at first and added by "Show more". */
export const CLIPS_PAGE = 24;

export const state = {
  /** @type {any} the last `/api/status` */
  status: null,
  /** @type {boolean | null} whether the last status request got an answer */
  online: /** @type {boolean | null} */ (null),
  /** The recorder's clock minus the phone's, in ms. */
  skewMs: 0,
  /** @type {any} the settings as the server has them */
  settings: null,
  /** @type {any[]} newest first */
  clips: [],
  shownClips: CLIPS_PAGE,
  /** Changes when clips were added, closed or removed; see {@link clipsKey}. */
  clipsKey: "",
  clipsLoadedAt: 0,
  /** When the last status answer came, ms since the epoch (phone's clock); 0: never. */
  lastContact: 0,
};
