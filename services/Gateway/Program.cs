// gateway: the only public entry. Authenticates (API key or JWT bearer), authorizes by scope, rate-limits per key,
//   forwards the caller as `X-Principal` and proxies (YARP) to every service's `/v1` API.
// - Stores: API key digests (statestore); reads the key pepper (secretstore) and the JWT settings (configuration).
// - Publishes and consumes: nothing.
// - API: `/v1/keys`, and every route of `gateway.routes.json`.

using Platform.Gateway;

await GatewayService.Module.RunAsync(args);
