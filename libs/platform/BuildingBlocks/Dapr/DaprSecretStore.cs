using Platform.BuildingBlocks.Secrets;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// Secrets on <c>DaprClient.GetSecretAsync</c> (gRPC): the answer is a map whose entry for the key is the value; no entry
/// means "not found" (null). Stores report a missing secret differently (the local file store fails the call), and a
/// failure is never taken for an absent secret: it throws <see cref="DaprApiException"/>.
/// </summary>
public sealed class DaprSecretStore(DaprCalls calls) : ISecretStore
{
    public async Task<string?> GetSecretAsync(string key, CancellationToken ct = default)
    {
        var store = calls.Options.SecretStoreName;
        var values = await calls.RunAsync(DaprCalls.Kind.Read, $"Reading secret '{key}' from '{store}'",
            (c, t) => c.GetSecretAsync(store, key, cancellationToken: t), ct);
        return values.TryGetValue(key, out var value) ? value : null;
    }
}
