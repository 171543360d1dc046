// @ts-check
/// <reference lib="dom" />
/**
 * Settings: the form, filled from `GET api/settings` and saved with `PUT api/settings`.
 *
 * @module
 */

import { api, ApiError, messageOf } from "./api.js";
import { $ } from "./dom.js";
import { listing } from "./format.js";
import { state } from "./state.js";
import { restartLive } from "./live.js";
import { poll } from "./status.js";
import { renderCurrent } from "./recording.js";

/** The editable settings: the server's list (GET api/settings), so the page never drifts. */
function settingKeys() {
  return Object.keys(state.settings ?? {});
}

/** What the server's `applied` names mean to a person. */
const APPLIED_NAMES = /** @type {Record<string, string>} */ ({
  camera: "the camera",
  recorder: "the recorder",
  preview: "the live view",
  storage: "loop recording",
  retention: "loop recording",
  clock: "the clock's time zone",
});

const form = /** @type {HTMLFormElement} */ ($("settings-form"));
const preset = /** @type {HTMLSelectElement} */ ($("preset"));

/** @param {string} key */
function input(key) {
  return /** @type {HTMLInputElement | HTMLSelectElement | null} */ (
    form.elements.namedItem(key)
  );
}

export async function loadSettings() {
  try {
    const data = await api("api/settings");
    state.settings = data.settings;
    fillForm();
    const pending = data.restartNeeded ?? [];
    $("settings-result").textContent = pending.length
      ? `Waiting to apply: ${pending.join(", ")}`
      : "";
    /** @type {HTMLButtonElement} */ ($("settings-save")).disabled = false;
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) return; // retried when back online
    $("settings-error").textContent = `Cannot load the settings: ${messageOf(error)}`;
    /** @type {HTMLButtonElement} */ ($("settings-save")).disabled = true;
  }
}

function fillForm() {
  for (const key of settingKeys()) {
    const element = input(key);
    if (element) element.value = String(state.settings?.[key] ?? "");
  }
  syncPreset();
  clearErrors();
}

function syncPreset() {
  const size = `${input("width")?.value}x${input("height")?.value}`;
  preset.value = [...preset.options].some((option) => option.value === size) ? size : "custom";
}

preset.addEventListener("change", () => {
  if (preset.value === "custom") return input("width")?.focus();
  const [width, height] = preset.value.split("x");
  /** @type {HTMLInputElement} */ (input("width")).value = width;
  /** @type {HTMLInputElement} */ (input("height")).value = height;
});

/**
 * A field's value as the server takes it: numbers as numbers; anything else (a typo, "6M")
 * as typed, so the server's validation answers with its own message.
 * @param {string} key
 */
function formValue(key) {
  const element = input(key);
  const raw = element?.value.trim() ?? "";
  if (typeof state.settings?.[key] === "string") return raw; // codec, storage sizes
  return raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

/** @returns {Record<string, unknown>} the fields that differ from the server's settings */
function changedSettings() {
  /** @type {Record<string, unknown>} */
  const changes = {};
  for (const key of settingKeys()) {
    if (!input(key)) continue;
    const value = formValue(key);
    if (String(value) !== String(state.settings?.[key] ?? "")) changes[key] = value;
  }
  return changes;
}

function clearErrors() {
  for (const key of settingKeys()) {
    input(key)?.removeAttribute("aria-invalid");
    const error = document.getElementById(`${key}-error`);
    if (error) error.textContent = "";
  }
  $("settings-error").textContent = "";
}

/**
 * Shows each error next to its field (or above the buttons when it names none), and moves
 * the focus to the first field in error.
 * @param {{ field?: string | null, error: string }[]} errors
 */
function showSettingsErrors(errors) {
  /** @type {HTMLElement | null} */
  let first = null;
  /** @type {string[]} */
  const general = [];
  for (const { field, error } of errors) {
    const element = field ? input(field) : null;
    const slot = field ? document.getElementById(`${field}-error`) : null;
    if (element && slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} ${error}` : error;
      element.setAttribute("aria-invalid", "true");
      first ??= element;
    } else {
      general.push(error);
    }
  }
  $("settings-error").textContent = general.join(" ");
  const focus = first ?? $("settings-error");
  if (first) {
    first.focus();
    first.scrollIntoView({ block: "center" });
  } else {
    focus.scrollIntoView({ block: "center" });
  }
}

form.addEventListener("input", (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target.id === "width" || target.id === "height") syncPreset();
  if (target.getAttribute("aria-invalid")) {
    target.removeAttribute("aria-invalid");
    const error = document.getElementById(`${target.id}-error`);
    if (error) error.textContent = "";
  }
  $("settings-result").textContent = "";
});

form.addEventListener("reset", (event) => {
  // The form's defaults are empty; "undo" means back to what the server has.
  event.preventDefault();
  fillForm();
  $("settings-result").textContent = "";
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const result = $("settings-result");
  const changes = changedSettings();
  if (Object.keys(changes).length === 0) {
    result.textContent = "Nothing to save: no setting changed.";
    return;
  }
  const save = /** @type {HTMLButtonElement} */ ($("settings-save"));
  save.disabled = true;
  result.textContent = "Saving…";
  try {
    const answer = await api("api/settings", { method: "PUT", body: changes });
    state.settings = answer.settings ?? { ...state.settings, ...changes };
    fillForm();
    /** @type {string[]} */
    const applied = Array.isArray(answer.applied) ? answer.applied : [];
    const names = [...new Set(applied.map((name) => APPLIED_NAMES[name] ?? name))];
    result.textContent = names.length
      ? `Saved. Restarted ${listing(names)}.`
      : "Saved. Nothing had to restart.";
    if (Array.isArray(answer.restartNeeded) && answer.restartNeeded.length) {
      result.textContent += ` Waiting to apply: ${answer.restartNeeded.join(", ")}.`;
    }
    if (applied.includes("camera") || applied.includes("preview")) {
      // The picture may change size; the stream may have been ended by the restart.
      setTimeout(restartLive, 1000);
    }
    renderCurrent();
    void poll();
  } catch (error) {
    result.textContent = "";
    const errors = error instanceof ApiError && error.errors.length
      ? error.errors
      : [{ field: error instanceof ApiError ? error.field : null, error: messageOf(error) }];
    showSettingsErrors(errors);
  } finally {
    save.disabled = false;
  }
});
