/* The accounts pages' script: the key work in the browser, and Firefox's WebChannel.

   Keys (Mozilla's "onepw" protocol): the password is stretched here
   (PBKDF2-SHA256, 1000 rounds, salted with the address) into authPW, sent
   to the server, and unwrapBKey, which never leaves this page. The server
   returns its random wrapKB once authPW is proven; kB = wrapKB XOR
   unwrapBKey. The sync key (kSync, 64 bytes of HKDF from kB) and its kid
   ("<keysChangedAt ms>-" + base64url of the first 16 bytes of SHA-256(kB))
   are sealed here into a JWE for the public key Firefox put in the page's
   URL (keys_jwk), and the server only passes that JWE on to Firefox.

   WebChannel "account_updates": fxa_status, then can_link_account, login
   and oauth_login; Firefox answers each with a WebChannelMessageToContent
   event carrying the same messageId. */
"use strict";

(() => {
  const OLDSYNC = "https://identity.mozilla.com/apps/oldsync";
  const PREFIX = "identity.mozilla.com/picl/v1/";
  const CHANNEL = "account_updates";
  const encoder = new TextEncoder();
  const subtle = window.crypto && window.crypto.subtle;

  // -- bytes ------------------------------------------------------------------

  const toHex = bytes => Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
  const fromHex = text => Uint8Array.from(text.match(/[0-9a-f]{2}/gi) || [],
                                          pair => parseInt(pair, 16));
  const toB64 = bytes => {
    let text = "";
    for (const b of bytes) {
      text += String.fromCharCode(b);
    }
    return btoa(text);
  };
  const toB64url = bytes => toB64(bytes).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  const fromB64url = text => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, c => c.charCodeAt(0));
  };
  const xor = (a, b) => {
    if (a.length !== b.length) {
      throw new Error("xor of unequal lengths");
    }
    return a.map((value, i) => value ^ b[i]);
  };
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };
  const uint32 = n => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const randomBytes = n => window.crypto.getRandomValues(new Uint8Array(n));

  // -- primitives -------------------------------------------------------------

  async function sha256(bytes) {
    return new Uint8Array(await subtle.digest("SHA-256", bytes));
  }

  async function hkdf(ikm, info, length, salt = new Uint8Array(0)) {
    const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    const bits = await subtle.deriveBits(
      {name: "HKDF", hash: "SHA-256", salt, info: encoder.encode(info)}, key, length * 8);
    return new Uint8Array(bits);
  }

  async function hmacSha256(key, bytes) {
    const hmacKey = await subtle.importKey("raw", key, {name: "HMAC", hash: "SHA-256"},
                                           false, ["sign"]);
    return new Uint8Array(await subtle.sign("HMAC", hmacKey, bytes));
  }

  // -- onepw --------------------------------------------------------------------

  /** authPW (sent to the server) and unwrapBKey (kept here) from the password. */
  async function stretch(email, password) {
    const key = await subtle.importKey("raw", encoder.encode(password), "PBKDF2", false,
                                       ["deriveBits"]);
    const salt = encoder.encode(PREFIX + "quickStretch:" + email);
    const quick = new Uint8Array(await subtle.deriveBits(
      {name: "PBKDF2", hash: "SHA-256", salt, iterations: 1000}, key, 256));
    const zero = new Uint8Array(1);
    return {
      authPW: await hkdf(quick, PREFIX + "authPW", 32, zero),
      unwrapBKey: await hkdf(quick, PREFIX + "unwrapBkey", 32, zero),
    };
  }

  /** The sync key as Firefox stores it: {kty, k, kid, scope}. */
  async function syncKey(kB, keyRotationTimestamp) {
    const kSync = await hkdf(kB, PREFIX + "oldsync", 64);
    const fingerprint = (await sha256(kB)).slice(0, 16);
    return {kty: "oct", k: toB64url(kSync), kid: `${keyRotationTimestamp}-${toB64url(fingerprint)}`,
            scope: OLDSYNC};
  }

  /** Compact JWE (ECDH-ES, A256GCM) of ``plaintext`` for a P-256 public JWK. */
  async function encryptToJwk(jwk, plaintext) {
    const curve = {name: "ECDH", namedCurve: "P-256"};
    const peer = await subtle.importKey("jwk", {kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y},
                                        curve, false, []);
    const ephemeral = await subtle.generateKey(curve, true, ["deriveBits"]);
    const epk = await subtle.exportKey("jwk", ephemeral.publicKey);
    const header = {alg: "ECDH-ES", enc: "A256GCM",
                    epk: {kty: epk.kty, crv: epk.crv, x: epk.x, y: epk.y}};
    const shared = new Uint8Array(await subtle.deriveBits({name: "ECDH", public: peer},
                                                          ephemeral.privateKey, 256));
    // Concat KDF (one SHA-256 round): counter, Z, algorithm id, empty PartyU/VInfo, 256 bits.
    const cek = await sha256(concat(uint32(1), shared, uint32(7), encoder.encode("A256GCM"),
                                    uint32(0), uint32(0), uint32(256)));
    const aesKey = await subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
    const protectedHeader = toB64url(encoder.encode(JSON.stringify(header)));
    const iv = randomBytes(12);
    const sealed = new Uint8Array(await subtle.encrypt(
      {name: "AES-GCM", iv, additionalData: encoder.encode(protectedHeader), tagLength: 128},
      aesKey, plaintext));
    const ciphertext = sealed.slice(0, sealed.length - 16);
    const tag = sealed.slice(sealed.length - 16);
    return [protectedHeader, "", toB64url(iv), toB64url(ciphertext), toB64url(tag)].join(".");
  }

  // -- the accounts API ---------------------------------------------------------

  /** The Hawk header for a request signed with a session token (hex). */
  async function hawkHeader(sessionToken, method, url, body) {
    const credentials = await hkdf(fromHex(sessionToken), PREFIX + "sessionToken", 64);
    const id = toHex(credentials.slice(0, 32));
    const key = credentials.slice(32, 64);
    const target = new URL(url, window.location.href);
    const port = target.port || (target.protocol === "https:" ? "443" : "80");
    const ts = Math.floor(Date.now() / 1000).toString();
    const nonce = toB64(randomBytes(8));
    let hash = "";
    if (body !== undefined) {
      hash = toB64(await sha256(encoder.encode(`hawk.1.payload\napplication/json\n${body}\n`)));
    }
    const text = ["hawk.1.header", ts, nonce, method.toUpperCase(),
                  target.pathname + target.search, target.hostname.toLowerCase(), port, hash,
                  "", ""].join("\n");
    const mac = toB64(await hmacSha256(key, encoder.encode(text)));
    return `Hawk id="${id}", ts="${ts}", nonce="${nonce}"` + (hash ? `, hash="${hash}"` : "") +
      `, mac="${mac}"`;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `The server answered ${status}`);
      this.status = status;
      this.errno = body && body.errno;
      this.body = body || {};
    }
  }

  /** ``path`` under the server's base URL (it may live under a path prefix). */
  const endpoint = path => (pageRoot() ? pageRoot().dataset.base || "/" : "/") + path;

  async function api(method, path, data, sessionToken) {
    path = endpoint(path);
    const headers = {"Accept": "application/json"};
    const body = data === undefined ? undefined : JSON.stringify(data);
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    if (sessionToken) {
      headers["Authorization"] = await hawkHeader(sessionToken, method, path, body);
    }
    const response = await fetch(path, {method, headers, body, credentials: "omit"});
    let answer = null;
    try {
      answer = await response.json();
    } catch (notJson) {
      answer = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, answer);
    }
    return answer;
  }

  /** Sign in (or up), following the server's spelling of the address (errno 120). */
  async function authenticate(path, email, password) {
    let keys = await stretch(email, password);
    try {
      return {email, keys,
              answer: await api("POST", path, {email, authPW: toHex(keys.authPW)})};
    } catch (error) {
      if (!(error instanceof ApiError) || error.errno !== 120 || !error.body.email) {
        throw error;
      }
      email = error.body.email;
      keys = await stretch(email, password);
      return {email, keys,
              answer: await api("POST", path, {email, authPW: toHex(keys.authPW)})};
    }
  }

  // -- Firefox's WebChannel -----------------------------------------------------

  const pending = new Map();
  window.addEventListener("WebChannelMessageToContent", event => {
    const detail = typeof event.detail === "string" ? JSON.parse(event.detail) : event.detail;
    if (!detail || detail.id !== CHANNEL || !detail.message) {
      return;
    }
    const waiter = pending.get(detail.message.messageId);
    if (waiter) {
      pending.delete(detail.message.messageId);
      waiter(detail.message.data || {});
    }
  });

  /** Send a command to Firefox; resolves with its answer, or null after ``timeoutMs``. */
  function channel(command, data, timeoutMs = 60000) {
    const messageId = toHex(randomBytes(8));
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        pending.delete(messageId);
        resolve(null);
      }, timeoutMs);
      pending.set(messageId, answer => {
        clearTimeout(timer);
        resolve(answer);
      });
      window.dispatchEvent(new window.CustomEvent("WebChannelMessageToChrome", {
        detail: JSON.stringify({id: CHANNEL, message: {command, data, messageId}}),
      }));
    });
  }

  // -- page plumbing ------------------------------------------------------------

  const $ = id => document.getElementById(id);
  const pageRoot = () => $("accounts-page");

  function say(text, kind = "error") {
    const messageBox = $("form-message");
    if (!messageBox) {
      return;
    }
    messageBox.hidden = !text;
    messageBox.className = `message message-${kind}`;
    messageBox.setAttribute("role", kind === "error" ? "alert" : "status");
    messageBox.querySelector("p").textContent = text || "";
  }

  function show(stepId) {
    for (const step of document.querySelectorAll("[data-step]")) {
      step.hidden = step.id !== stepId;
    }
    const first = $(stepId) && $(stepId).querySelector("input:not([type=hidden])");
    if (first) {
      first.focus();
    }
  }

  function explain(error) {
    if (error instanceof ApiError) {
      const known = {
        101: "An account with this email address already exists.",
        102: "There is no account with this email address.",
        103: "Incorrect password.",
        105: "That code is not valid, or it has expired.",
        114: "Too many attempts. Please wait a while and try again.",
      };
      return known[error.errno] || error.message;
    }
    return `Something went wrong: ${error.message}`;
  }

  /** Run ``work`` for a form submission, with the button disabled and errors shown. */
  function onSubmit(formId, work) {
    const form = $(formId);
    if (!form) {
      return;
    }
    form.addEventListener("submit", async event => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      say("");
      try {
        await work(form);
      } catch (error) {
        say(explain(error));
      } finally {
        button.disabled = false;
      }
    });
  }

  function checkNewPassword(password, repeat) {
    const min = Number(pageRoot().dataset.minPasswordLength || "8");
    if (password.length < min) {
      throw new Error(`the password must have at least ${min} characters`);
    }
    if (password !== repeat) {
      throw new Error("the two passwords differ");
    }
  }

  // -- the sign-in page -----------------------------------------------------------

  function signInPage() {
    const params = new URLSearchParams(window.location.search);
    const oauth = ["client_id", "state", "scope", "code_challenge", "keys_jwk"]
      .every(name => params.get(name));
    const state = {email: params.get("email") || "", signedIn: null, action: "signin"};

    if (state.email) {
      $("email").value = state.email;
    }
    // Firefox says which account it holds, e.g. one that must sign in again.
    channel("fxaccounts:fxa_status", {service: params.get("service") || "sync",
                                      context: params.get("context") || ""}, 3000)
      .then(answer => {
        const user = answer && answer.signedInUser;
        if (user && user.email && !$("email").value) {
          $("email").value = user.email;
        }
      });

    async function connectFirefox(signedIn, keys) {
      const {answer} = signedIn;
      if (!oauth) {
        show("step-done");
        say("You are signed in. To sync, open this page from Firefox: Settings, Sync, " +
            "Sign in.", "success");
        return;
      }
      if (!answer.wrapKB) {
        throw new Error("the server sent no key");
      }
      const kB = xor(fromHex(answer.wrapKB), keys.unwrapBKey);
      show("step-working");
      const clientId = params.get("client_id");
      const keyData = await api("POST", "v1/account/scoped-key-data",
                                {client_id: clientId, scope: OLDSYNC}, answer.sessionToken);
      if (!keyData[OLDSYNC]) {
        throw new Error("the server did not grant the sync scope");
      }
      const key = await syncKey(kB, keyData[OLDSYNC].keyRotationTimestamp);
      const jwk = JSON.parse(new TextDecoder().decode(fromB64url(params.get("keys_jwk"))));
      const keysJwe = await encryptToJwk(jwk, encoder.encode(JSON.stringify({[OLDSYNC]: key})));
      const grant = await api("POST", "v1/oauth/authorization", {
        client_id: clientId, state: params.get("state"), scope: params.get("scope"),
        access_type: params.get("access_type") || "offline", response_type: "code",
        code_challenge: params.get("code_challenge"),
        code_challenge_method: params.get("code_challenge_method") || "S256",
        keys_jwe: keysJwe,
      }, answer.sessionToken);
      const link = await channel("fxaccounts:can_link_account",
                                 {email: signedIn.email, uid: answer.uid});
      if (!link || !link.ok) {
        show("step-email");
        say(link ? "Firefox did not link this account." :
          "Firefox did not answer: open this page from Firefox's Sync settings.");
        return;
      }
      const login = await channel("fxaccounts:login", {
        email: signedIn.email, uid: answer.uid, sessionToken: answer.sessionToken,
        verified: true, services: {sync: {}},
      });
      if (!login || login.error) {
        throw new Error("Firefox refused the sign-in");
      }
      const done = await channel("fxaccounts:oauth_login", {
        code: grant.code, state: grant.state, redirect: grant.redirect,
        action: state.action,
      });
      if (!done || done.error) {
        throw new Error("Firefox could not finish the sign-in");
      }
      show("step-done");
      say("Firefox is signed in and syncing with this server.", "success");
    }

    async function afterAuthentication(signedIn) {
      state.signedIn = signedIn;
      if (!signedIn.answer.verified) {
        $("confirm-email").textContent = signedIn.email;
        show("step-confirm");
        return;
      }
      await connectFirefox(signedIn, signedIn.keys);
    }

    onSubmit("email-form", async () => {
      state.email = $("email").value.trim();
      const {exists} = await api("POST", "v1/account/status", {email: state.email});
      for (const node of document.querySelectorAll(".chosen-email")) {
        node.textContent = state.email;
      }
      $("forgot-link").href = endpoint("reset_password?") + new URLSearchParams({email: state.email});
      show(exists ? "step-signin" : "step-signup");
    });
    onSubmit("signin-form", async () => {
      state.action = "signin";
      const signedIn = await authenticate("v1/account/login?keys=true", state.email,
                                          $("password").value);
      await afterAuthentication(signedIn);
    });
    onSubmit("signup-form", async () => {
      checkNewPassword($("new-password").value, $("repeat-password").value);
      state.action = "signup";
      const signedIn = await authenticate("v1/account/create?keys=true", state.email,
                                          $("new-password").value);
      await afterAuthentication(signedIn);
    });
    onSubmit("confirm-form", async () => {
      const {answer} = state.signedIn;
      await api("POST", "v1/recovery_email/verify_code",
                {uid: answer.uid, code: $("code").value.trim()}, answer.sessionToken);
      answer.verified = true;
      await connectFirefox(state.signedIn, state.signedIn.keys);
    });
    for (const link of document.querySelectorAll("[data-action=restart]")) {
      link.addEventListener("click", event => {
        event.preventDefault();
        say("");
        show("step-email");
      });
    }
    const resend = $("resend-code");
    if (resend) {
      resend.addEventListener("click", async event => {
        event.preventDefault();
        try {
          await api("POST", "v1/recovery_email/resend_code", {},
                    state.signedIn.answer.sessionToken);
          say("A new code is on its way.", "success");
        } catch (error) {
          say(explain(error));
        }
      });
    }
    show("step-email");
  }

  // -- the settings page ----------------------------------------------------------

  /** Firefox's signed-in account, if this page runs in a Firefox that has one. */
  async function firefoxAccount() {
    const status = await channel("fxaccounts:fxa_status", {service: "sync"}, 3000);
    return status && status.signedInUser ? status.signedInUser : null;
  }

  function settingsPage() {
    onSubmit("password-form", async () => {
      checkNewPassword($("new-password").value, $("repeat-password").value);
      const old = await authenticate("v1/account/login?keys=true", $("email").value.trim(),
                                     $("password").value);
      const kB = xor(fromHex(old.answer.wrapKB), old.keys.unwrapBKey);
      const fresh = await stretch(old.email, $("new-password").value);
      await api("POST", "v1/password/change", {
        oldAuthPW: toHex(old.keys.authPW), authPW: toHex(fresh.authPW),
        wrapKB: toHex(xor(kB, fresh.unwrapBKey)),
      }, old.answer.sessionToken);
      const current = await firefoxAccount();
      if (current && current.uid === old.answer.uid) {
        // Other sessions ended: this Firefox carries on with the new one.
        await channel("fxaccounts:change_password", {
          email: old.email, uid: old.answer.uid, sessionToken: old.answer.sessionToken,
          verified: true});
      }
      $("password-form").reset();
      say("Your password is changed. Your other devices ask you to sign in again.",
          "success");
    });
    onSubmit("delete-form", async () => {
      const email = $("delete-email").value.trim();
      let keys = await stretch(email, $("delete-password").value);
      let address = email;
      try {
        await api("POST", "v1/account/destroy", {email, authPW: toHex(keys.authPW)});
      } catch (error) {
        if (!(error instanceof ApiError) || error.errno !== 120) {
          throw error;
        }
        address = error.body.email;
        keys = await stretch(address, $("delete-password").value);
        await api("POST", "v1/account/destroy", {email: address, authPW: toHex(keys.authPW)});
      }
      const current = await firefoxAccount();
      if (current && current.email && current.email.toLowerCase() === address.toLowerCase()) {
        await channel("fxaccounts:delete", {uid: current.uid});
      }
      $("delete-form").reset();
      say("The account is deleted. Its synced data goes with it.", "success");
    });
  }

  // -- the password reset page ------------------------------------------------------

  function resetPage() {
    const params = new URLSearchParams(window.location.search);
    if (params.get("email")) {
      $("email").value = params.get("email");
      $("reset-email").value = params.get("email");
    }
    if (params.get("code")) {
      $("code").value = params.get("code");
      show("step-reset");
    } else {
      show("step-request");
    }
    onSubmit("request-form", async () => {
      await api("POST", "v1/password/forgot/send_code", {email: $("email").value.trim()});
      $("reset-email").value = $("email").value.trim();
      show("step-reset");
      say("If this address has an account, a code is on its way to it.", "success");
    });
    onSubmit("reset-form", async () => {
      checkNewPassword($("new-password").value, $("repeat-password").value);
      let email = $("reset-email").value.trim();
      const body = async () => ({
        email, code: $("code").value.trim(),
        authPW: toHex((await stretch(email, $("new-password").value)).authPW)});
      try {
        await api("POST", "v1/password/forgot/reset", await body());
      } catch (error) {
        if (!(error instanceof ApiError) || error.errno !== 120) {
          throw error;
        }
        email = error.body.email;
        await api("POST", "v1/password/forgot/reset", await body());
      }
      show("step-done");
      say("Your password is reset. Sign in again in Firefox: it uploads your data again " +
          "under new keys.", "success");
    });
  }

  // Reused by the tests, which check this script's derivations against their own.
  window.syncAccounts = {stretch, syncKey, encryptToJwk, hawkHeader, hkdf, sha256,
                         toHex, fromHex, toB64url, fromB64url, xor};

  document.addEventListener("DOMContentLoaded", () => {
    if (!subtle) {
      say("This page needs a browser with Web Cryptography over HTTPS (or on this computer).");
      return;
    }
    const page = pageRoot() && pageRoot().dataset.page;
    if (page === "signin") {
      signInPage();
    } else if (page === "settings") {
      settingsPage();
    } else if (page === "reset") {
      resetPage();
    }
  });
})();
