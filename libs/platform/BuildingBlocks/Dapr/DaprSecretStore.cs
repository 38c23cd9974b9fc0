using System.Net;
using System.Text.Json;
using Platform.BuildingBlocks.Secrets;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// Secrets over <c>GET /v1.0/secrets/{store}/{key}</c> (§6.5; response codes per docs.dapr.io secrets API):
/// 200 is a JSON map whose entry for the key is the value, 204 means "not found" (null). Every other answer is an
/// error. Stores report a missing secret differently: the local file store answers 500 <c>ERR_SECRET_GET</c>, which
/// cannot be told apart from a real failure without reading the message, so it throws.
/// </summary>
public sealed class DaprSecretStore(DaprSidecarClient client) : ISecretStore
{
    public async Task<string?> GetSecretAsync(string key, CancellationToken ct = default)
    {
        var store = client.Options.SecretStoreName;
        var path = "v1.0/secrets/" + DaprSidecarClient.Escape(store) + "/" + DaprSidecarClient.Escape(key);
        using var response = await client.SendAsync(new(HttpMethod.Get, path), DaprRetry.AnyTransportFailure, ct);
        if (response.StatusCode == HttpStatusCode.NoContent) return null;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var (code, message) = await DaprSidecarClient.ReadErrorAsync(response, ct);
            throw new DaprApiException(DaprSidecarClient.Describe($"Reading secret '{key}' from '{store}'", response.StatusCode, code, message),
                (int)response.StatusCode, code);
        }
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the body is not a JSON object");
            if (!doc.RootElement.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new JsonException($"the value of '{key}' is not a string");
        }
        catch (JsonException ex)
        {
            throw new DaprApiException($"Reading secret '{key}' from '{store}': the sidecar answered 200 with an unreadable body ({ex.Message}).",
                200, DaprErrorCodes.MalformedResponse, ex);
        }
    }
}
