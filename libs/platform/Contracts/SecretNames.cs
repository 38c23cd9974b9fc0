namespace Platform.Contracts;

/// <summary>
/// Names of the secrets services read through the secret store. Each is also the name of the Kubernetes Secret (the Dapr
/// Kubernetes secret store answers by Secret name), the one key inside it, the Role's resource name, the External
/// Secret's target and the key in <c>components/secrets.example.json</c>; a deployment test compares them all.
/// </summary>
public static class SecretNames
{
    /// <summary>The installation's pepper for API key digests (at least 32 bytes, base64 or text).</summary>
    public const string GatewayApiKeyPepper = "gateway-apikey-pepper";

    /// <summary>HMAC-SHA256 key that verifies bearer tokens (at least 32 bytes, base64 or text).</summary>
    public const string GatewayJwtSigningKey = "gateway-jwt-signing-key";

    /// <summary>Every secret the gateway reads.</summary>
    public static readonly IReadOnlyList<string> Gateway = [GatewayApiKeyPepper, GatewayJwtSigningKey];

    /// <summary>
    /// The Kubernetes Secret the Dapr injector hands each sidecar (<c>dapr.io/app-token-secret</c>, key <c>token</c>) and
    /// each service reads as <c>APP_API_TOKEN</c>: the sidecar presents it on every call to its app.
    /// </summary>
    public const string DaprAppApiToken = "dapr-app-api-token";
}
