namespace Platform.Contracts;

/// <summary>
/// The caller a request came from, as the gateway forwards it in <c>X-Principal</c> after authentication:
/// <c>{kind}:{id}; scopes={scope} {scope}...</c> (for example <c>api-key:3f9a0c1d2e4b5a69; scopes=backtests:write</c>).
/// The gateway strips the header from every incoming request before setting it, so a service behind it can trust it.
/// A request without the header did not come through the gateway: the platform itself (the embedded host, the
/// command line, another service).
/// </summary>
public sealed record Caller(string Id, IReadOnlyList<string> Scopes)
{
    public const string Header = "X-Principal";

    /// <summary>The scope that sees and manages every caller's runs.</summary>
    public const string AdminScope = "admin";

    public bool IsAdmin => Scopes.Contains(AdminScope, StringComparer.Ordinal);

    /// <summary>The caller of a request: null when the header is absent or blank (the platform itself).</summary>
    public static Caller? From(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        var parts = header.Split(';', 2, StringSplitOptions.TrimEntries);
        var id = parts[0];
        if (id.Length == 0) return null;
        IReadOnlyList<string> scopes = parts.Length > 1 && parts[1].StartsWith("scopes=", StringComparison.Ordinal)
            ? parts[1]["scopes=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : [];
        return new Caller(id, scopes);
    }

    /// <summary>
    /// Whether <paramref name="caller"/> may see a resource owned by <paramref name="owner"/>: the platform itself and
    /// <c>admin</c> see everything; a resource the platform started (no owner) is visible to every caller; otherwise
    /// only its owner sees it.
    /// </summary>
    public static bool MaySee(Caller? caller, string? owner) =>
        caller is null || caller.IsAdmin || owner is null || string.Equals(caller.Id, owner, StringComparison.Ordinal);
}
