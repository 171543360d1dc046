// @ts-check
/// <reference lib="dom" />
/**
 * Settings: the form, built from the schema `GET api/settings` sends (one field per editable
 * setting, in the server's fieldsets), filled from its settings and saved with
 * `PUT api/settings`.
 *
 * @module
 */

import { api, ApiError, messageOf } from "./api.js";
import { $, h } from "./dom.js";
import { listing } from "./format.js";
import { state } from "./state.js";
import { restartLive } from "./live.js";
import { poll } from "./status.js";
import { renderCurrent } from "./recording.js";

/**
 * @typedef {import("./state.js").SettingsDocument} SettingsDocument
 * @typedef {import("./state.js").SettingsSaved} SettingsSaved
 * @typedef {import("./state.js").Settings} Settings
 */

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

/** @typedef {import("../../src/config/mod.ts").PageSettingSchema} FieldSchema one field's */

/** Frame sizes offered above the width and height fields. */
const PRESETS = [
  ["640x480", "640 × 480"],
  ["1280x720", "1280 × 720 (720p)"],
  ["1640x1232", "1640 × 1232 (Pi camera, full field)"],
  ["1920x1080", "1920 × 1080 (1080p)"],
  ["custom", "Custom"],
];

const preset = h(
  "select",
  { id: "preset" },
  PRESETS.map(([value, text]) => new Option(text, value)),
);

/** The keys the form was built for, so a new schema (an updated server) rebuilds it. */
let builtFor = "";

/**
 * One field: its label (with the unit), the input or select, the hint and the error slot.
 * @param {string} key
 * @param {FieldSchema} field
 */
function buildField(key, field) {
  const described = [field.hint ? `${key}-hint` : "", `${key}-error`].filter(Boolean).join(" ");
  /** @type {HTMLInputElement | HTMLSelectElement} */
  let control;
  /** @type {Node[]} */
  const extra = [];
  if (field.enum) {
    control = h("select", { id: key, name: key, "aria-describedby": described }, [
      ...field.enum.map((value) => new Option(field.enumLabels?.[value] ?? value, value)),
    ]);
  } else if (field.type !== "string" && field.input !== "text") {
    const whole = field.type === "integer";
    control = h("input", {
      id: key,
      name: key,
      type: "number",
      inputmode: whole ? "numeric" : "decimal",
      step: whole ? false : "any",
      "aria-describedby": described,
    });
  } else {
    control = h("input", {
      id: key,
      name: key,
      type: "text",
      autocomplete: "off",
      autocapitalize: "off",
      spellcheck: "false",
      list: field.suggest ? `${key}-suggestions` : false,
      "aria-describedby": described,
    });
    if (field.suggest === "timeZones") {
      // The zones this browser knows.
      const zones = Intl.supportedValuesOf?.("timeZone") ?? [];
      extra.push(
        h("datalist", { id: `${key}-suggestions` }, zones.map((zone) => new Option(zone))),
      );
    }
  }
  const label = h("label", { for: key }, [
    field.label,
    ...(field.symbol ? [" ", h("span", { class: "unit" }, [field.symbol])] : []),
  ]);
  return h("div", { class: "field" }, [
    label,
    control,
    ...extra,
    ...(field.hint ? [h("p", { id: `${key}-hint`, class: "hint" }, [field.hint])] : []),
    h("p", { id: `${key}-error`, class: "field-error", role: "alert" }),
  ]);
}

/**
 * (Re)builds the form's fieldsets from the schema, in its order; the frame-size presets go
 * first in the width's fieldset.
 * @param {Record<string, FieldSchema>} schema
 */
function buildForm(schema) {
  const keys = Object.keys(schema).join(" ");
  if (keys === builtFor) return;
  builtFor = keys;
  for (const old of form.querySelectorAll("fieldset")) old.remove();
  /** @type {Map<string, HTMLFieldSetElement>} */
  const groups = new Map();
  for (const [key, field] of Object.entries(schema)) {
    let fieldset = groups.get(field.group);
    if (!fieldset) {
      fieldset = h("fieldset", {}, [h("legend", {}, [field.group])]);
      groups.set(field.group, fieldset);
    }
    fieldset.append(buildField(key, field));
  }
  if (schema.width && schema.height) {
    const presetField = h("div", { class: "field full" }, [
      h("label", { for: "preset" }, ["Resolution"]),
      preset,
    ]);
    groups.get(schema.width.group)?.querySelector("legend")?.after(presetField);
  }
  form.prepend(...groups.values());
}

/** @param {string} key */
function input(key) {
  return /** @type {HTMLInputElement | HTMLSelectElement | null} */ (
    form.elements.namedItem(key)
  );
}

/**
 * A setting as the server has it; undefined before the settings are loaded.
 * @param {string} key
 */
function setting(key) {
  return /** @type {Record<string, unknown>} */ (state.settings ?? {})[key];
}

export async function loadSettings() {
  try {
    const data = /** @type {SettingsDocument & { restartNeeded?: string[] }} */ (
      await api("api/settings")
    );
    buildForm(data.schema ?? {});
    state.settings = data.settings;
    fillForm();
    const pending = data.restartNeeded ?? [];
    $("settings-result").textContent = pending.length
      ? `Waiting to apply: ${pending.join(", ")}`
      : "";
    /** @type {HTMLButtonElement} */ ($("settings-save")).disabled = false;
    $("settings-error").textContent = "";
  } catch (error) {
    // Tried again until it loads: a request lost on a weak link while the status polls go
    // through would otherwise leave the page without a form until the link drops and returns.
    setTimeout(() => {
      if (!state.settings) void loadSettings();
    }, SETTINGS_RETRY_MS);
    if (error instanceof ApiError && error.status === 0) return; // the status says offline
    $("settings-error").textContent = `Cannot load the settings: ${messageOf(error)}`;
    /** @type {HTMLButtonElement} */ ($("settings-save")).disabled = true;
  }
}

/** How soon a failed settings load is tried again. */
const SETTINGS_RETRY_MS = 3000;

function fillForm() {
  for (const key of settingKeys()) {
    const element = input(key);
    if (element) element.value = String(setting(key) ?? "");
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
  if (typeof setting(key) === "string") return raw; // codec, storage sizes
  return raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

/** @returns {Record<string, unknown>} the fields that differ from the server's settings */
function changedSettings() {
  /** @type {Record<string, unknown>} */
  const changes = {};
  for (const key of settingKeys()) {
    if (!input(key)) continue;
    const value = formValue(key);
    if (String(value) !== String(setting(key) ?? "")) changes[key] = value;
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
    const answer = /** @type {SettingsSaved & { restartNeeded?: string[] }} */ (
      await api("api/settings", { method: "PUT", body: changes })
    );
    state.settings = answer.settings ?? /** @type {Settings} */ ({ ...state.settings, ...changes });
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
