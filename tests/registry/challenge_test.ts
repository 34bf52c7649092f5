// WWW-Authenticate parsing (RFC 7235 §4.1; Spack reference §4.11 for what counts as malformed).
import assert from "node:assert/strict";
import {
  parseWwwAuthenticate,
  RegistryAuthenticator,
  RegistryAuthError,
} from "../../lib/registry/mod.ts";

Deno.test("parseWwwAuthenticate: valid challenges", () => {
  assert.deepEqual(
    parseWwwAuthenticate(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
      "r",
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:a/b:pull,push",
      },
    }],
  );
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm"', "r"), [
    { scheme: "basic", params: { realm: "Registry Realm" } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://a/t", Basic realm=b', "r"), [
    { scheme: "bearer", params: { realm: "https://a/t" } },
    { scheme: "basic", params: { realm: "b" } },
  ]);
  assert.deepEqual(parseWwwAuthenticate("Basic, Bearer realm=x,service=y", "r"), [
    { scheme: "basic", params: {} },
    { scheme: "bearer", params: { realm: "x", service: "y" } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('BEARER Realm = "x" , Error="insufficient_scope"', "r"), [
    { scheme: "bearer", params: { realm: "x", error: "insufficient_scope" } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Basic realm="say \\"hi\\", ok"', "r"), [
    { scheme: "basic", params: { realm: 'say "hi", ok' } },
  ]);
  assert.deepEqual(parseWwwAuthenticate("Negotiate", "r"), [{ scheme: "negotiate", params: {} }]);
});

Deno.test("parseWwwAuthenticate: malformed headers are refused without quoting them", () => {
  for (
    const header of [
      "",
      "SchemeA SchemeB",
      "Scheme key=value,",
      "Scheme key=",
      '"Scheme"',
      "Scheme ",
      "Scheme abc==",
      'Basic realm="unterminated',
      "Basic realm=a b",
      "Basic,",
    ]
  ) {
    assert.throws(() => parseWwwAuthenticate(header, "reg.example:5000"), (err: unknown) => {
      assert.ok(err instanceof RegistryAuthError, header);
      assert.match(
        err.message,
        /^cannot log in to reg\.example:5000: malformed WWW-Authenticate header/,
      );
      return true;
    });
  }
  assert.throws(
    () => parseWwwAuthenticate('Bearer realm="https://x/t?secret=hunter2" junk', "r"),
    (err: Error) => !err.message.includes("hunter2"),
  );
});

Deno.test("RegistryAuthenticator: refuses plain-HTTP realms, unsupported schemes, missing challenges", async () => {
  let fetched = 0;
  const auth = new RegistryAuthenticator("reg.example", {
    credentials: () => Promise.resolve({ username: "u", password: "p" }),
    fetch: () => {
      fetched++;
      return Promise.reject(new Error("no request expected"));
    },
    allowPlainHttpRealm: false,
    clientId: "spackle",
  });
  await assert.rejects(
    () => auth.respond('Bearer realm="http://auth.example/token",service="s"', []),
    (err: unknown) => err instanceof RegistryAuthError && /insecure/.test(err.message),
  );
  await assert.rejects(
    () => auth.respond("Negotiate", []),
    (err: unknown) =>
      err instanceof RegistryAuthError &&
      /unsupported authentication scheme: negotiate/.test(err.message),
  );
  await assert.rejects(() => auth.respond(null, []), RegistryAuthError);
  assert.equal(fetched, 0);
  // Basic needs no round trip: the header is built from the credentials and then reused.
  const basic = await auth.respond('Basic realm="r"', []);
  assert.equal(basic, `Basic ${btoa("u:p")}`);
  assert.equal(auth.cached(["repository:any:pull"]), basic);
  auth.invalidate(basic);
  assert.equal(auth.cached(["repository:any:pull"]), undefined);
});
