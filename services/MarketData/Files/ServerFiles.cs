using System.Diagnostics.CodeAnalysis;
using Platform.BuildingBlocks;
using Platform.OfflineStore;

namespace Platform.MarketData.Files;

/// <summary>
/// The one rule for every API that names a file on the server (imports, replays): the path, taken relative to the
/// data directory, must lead to an existing file inside one of the allowed roots (<c>MarketData:Imports:AllowedRoots</c>,
/// default the data directory) once <c>..</c> and every symbolic link along it are resolved. Whatever the reason a path
/// is refused (outside the roots, missing, a directory, unreadable characters), the answer is the same, so the API does
/// not tell which files exist. The CLI takes a user's own paths and does not go through this rule.
/// </summary>
public sealed class ServerFiles(MarketDataOptions options, RuntimeSettings runtime)
{
    public const int MaxPathLength = 4096;
    private const int MaxLinkHops = 40;

    /// <summary>The allowed roots, each canonical (links resolved); roots that do not exist are left out.</summary>
    public IReadOnlyList<string> Roots =>
        (options.Imports.AllowedRoots.Count > 0 ? options.Imports.AllowedRoots : [runtime.DataDir])
            .Select(r => Canonical(Path.GetFullPath(r), 0)).OfType<string>().Where(Directory.Exists).ToList();

    /// <summary>The canonical path of an allowed file, or the one error message for every refusal.</summary>
    public bool TryResolve(string? requested, [NotNullWhen(true)] out string? path, out string error)
    {
        path = null;
        error = $"'{BarValidation.Printable(requested, 256)}' is not a file this service may read: give an existing file under "
            + "the directories in MarketData:Imports:AllowedRoots (default: the data directory).";
        if (string.IsNullOrWhiteSpace(requested) || requested.Length > MaxPathLength || requested.Any(char.IsControl)) return false;
        var canonical = Canonical(Path.GetFullPath(requested, runtime.DataDir), 0);
        if (canonical is null || !File.Exists(canonical)) return false;
        if (!Roots.Any(root => canonical.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))) return false;
        path = canonical;
        return true;
    }

    /// <summary>
    /// The path with every symbolic link along it replaced by its target (like realpath(3)); a component that does not
    /// exist is kept as written. Null when links loop.
    /// </summary>
    internal static string? Canonical(string full, int hops)
    {
        var current = Path.GetPathRoot(full) ?? "/";
        foreach (var part in full[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            var info = new FileInfo(next);
            if (info.Exists || Directory.Exists(next))
            {
                if (info.LinkTarget is { } target)
                {
                    if (++hops > MaxLinkHops) return null;
                    next = Canonical(Path.GetFullPath(target, current), hops);
                    if (next is null) return null;
                }
            }
            else if (info.LinkTarget is not null) return null; // a dangling link
            current = next;
        }
        return current;
    }
}
