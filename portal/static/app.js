// Runbooker portal: small enhancements; every page works without it.
//
// Run forms (form[data-run-form]): a select's chosen option hides, shows
// and makes mandatory other fields, and sets their values when chosen.
// The server applies the same rules to a form posted without JavaScript
// (portal/form.go, runForm.settle): keep the two in step.
(function () {
  "use strict";

  // effectOf finds the effect of the option a select's text chooses, by
  // value first, then by display text.
  function effectOf(el, text) {
    var list;
    try {
      list = JSON.parse(el.getAttribute("data-effects") || "[]");
    } catch (e) {
      return null;
    }
    var i;
    for (i = 0; i < list.length; i++) {
      if (list[i].v === text) return list[i].e || null;
    }
    for (i = 0; i < list.length; i++) {
      if (list[i].d === text) return list[i].e || null;
    }
    return null;
  }

  // settle recomputes which fields are hidden and mandatory: each field's
  // own flags, then every select's chosen option in form order (a hidden
  // select counts with its default).
  function settle(form) {
    var state = {};
    form.querySelectorAll("[data-key]").forEach(function (w) {
      state[w.getAttribute("data-key")] = {
        w: w,
        hide: w.getAttribute("data-hidden") === "true",
        need: w.getAttribute("data-mandatory") === "true"
      };
    });
    form.querySelectorAll("[data-effects]").forEach(function (el) {
      var w = el.closest("[data-key]");
      var st = w && state[w.getAttribute("data-key")];
      var text = st && st.hide ? el.getAttribute("data-default") || "" : el.value;
      var e = effectOf(el, text);
      if (!e) return;
      (e.hide || []).forEach(function (k) { if (state[k]) state[k].hide = true; });
      (e.show || []).forEach(function (k) { if (state[k]) state[k].hide = false; });
      (e.mandatory || []).forEach(function (k) { if (state[k]) state[k].need = true; });
    });
    Object.keys(state).forEach(function (k) {
      var st = state[k];
      st.w.hidden = st.hide;
      // Hidden fields are disabled, so the browser neither submits nor checks them.
      st.w.querySelectorAll("input, select, textarea").forEach(function (c) {
        if (!c.readOnly) c.disabled = st.hide;
      });
      st.w.querySelectorAll("[data-main]").forEach(function (c) {
        c.required = st.need && !st.hide;
      });
      st.w.querySelectorAll("[data-req]").forEach(function (m) {
        m.hidden = !st.need;
      });
    });
  }

  // setValue puts a value, in the text form the server uses, into a
  // field's control.
  function setValue(w, text) {
    var controls = w.querySelectorAll("input, select, textarea");
    if (!controls.length) return;
    var c = controls[0];
    if (c.type === "checkbox") {
      c.checked = text === "true";
      return;
    }
    if (c.type === "date" || c.type === "time") {
      var parts = String(text).split("T");
      controls.forEach(function (x) {
        if (x.type === "date") x.value = parts[0] || "";
        if (x.type === "time") x.value = (parts.length > 1 ? parts[1] : parts[0]).slice(0, 5);
      });
      return;
    }
    c.value = text;
  }

  // applyDefaults sets the values the select's newly chosen option gives.
  function applyDefaults(form, el) {
    var e = effectOf(el, el.value);
    if (!e || !e.default) return;
    Object.keys(e.default).forEach(function (k) {
      form.querySelectorAll("[data-key]").forEach(function (w) {
        if (w.getAttribute("data-key") === k) setValue(w, e.default[k]);
      });
    });
  }

  function onChange(ev) {
    var el = ev.target;
    var form = el && el.closest ? el.closest("form[data-run-form]") : null;
    if (!form) return;
    if (el.hasAttribute("data-effects")) applyDefaults(form, el);
    settle(form);
  }

  function init() {
    document.querySelectorAll("form[data-run-form]").forEach(settle);
  }

  document.addEventListener("change", onChange);
  document.addEventListener("input", function (ev) {
    // A combo box (a select that accepts free text) applies its choice as typed.
    if (ev.target && ev.target.tagName === "INPUT" && ev.target.hasAttribute("data-effects")) onChange(ev);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
