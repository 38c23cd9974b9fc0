namespace Platform.BuildingBlocks.Secrets;

/// <summary>Read-only secrets. Returns null when the secret does not exist.</summary>
public interface ISecretStore
{
    Task<string?> GetSecretAsync(string key, CancellationToken ct = default);
}
