namespace Platform.Gateway.Identity;

/// <summary>The key a newcomer's first <c>./platform run</c> prints, so the API can be tried at once.</summary>
public static class DevelopmentKey
{
    public const string Name = "development";

    /// <summary>
    /// On the first run on a data directory, creates a premium key with every scope and returns its token (to print once);
    /// on every later run returns null. The key and the marker that says it was issued are written in one transaction, so
    /// a crash cannot leave a key without the marker
    /// (or the marker without its key).
    /// </summary>
    public static async Task<string?> EnsureAsync(IServiceProvider gatewayServices, CancellationToken ct = default)
    {
        var keys = gatewayServices.GetRequiredService<ApiKeyService>();
        if (await keys.Store.GetAsync(ApiKeyService.DevelopmentMarkerKey, ct) is not null) return null;
        var created = await keys.CreateAsync(Name, "premium", Scopes.All, "platform", ct, marker: true);
        return created.Token;
    }
}
