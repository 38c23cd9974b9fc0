using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Platform.BuildingBlocks.Secrets;

/// <summary>
/// The embedded secret store: configuration (<c>Secrets:{key}</c>), then the environment (<c>PLATFORM_SECRET_{KEY}</c>,
/// non-alphanumerics as underscores), then <c>secrets.json</c> in the data directory (a flat JSON object).
/// </summary>
public sealed class LocalSecretStore(IConfiguration configuration, string dataDir) : ISecretStore
{
    public Task<string?> GetSecretAsync(string key, CancellationToken ct = default)
    {
        if (configuration["Secrets:" + key] is { } configured) return Task.FromResult<string?>(configured);
        var envName = "PLATFORM_SECRET_" + new string(key.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray());
        if (Environment.GetEnvironmentVariable(envName) is { } fromEnv) return Task.FromResult<string?>(fromEnv);
        var file = Path.Combine(dataDir, "secrets.json");
        if (!File.Exists(file)) return Task.FromResult<string?>(null);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        return Task.FromResult(doc.RootElement.TryGetProperty(key, out var value) ? value.GetString() : null);
    }
}
