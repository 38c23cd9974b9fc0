using System.Text.RegularExpressions;
using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Docs;

/// <summary>The "where things live" tables name paths that exist: a move without its documentation fails here.</summary>
public sealed partial class LayoutTableTests
{
    public static TheoryData<string> Pages => new() { "README.md", "docs/architecture.md" };

    [Theory]
    [MemberData(nameof(Pages))]
    public void LayoutTable_EveryNamedPath_Exists(string page)
    {
        var paths = TablePaths(File.ReadAllText(Repository.PathOf(page)));

        Assert.True(paths.Count >= 10, $"{page}: expected a layout table, found {paths.Count} paths");
        var missing = paths.Where(p => !File.Exists(Repository.PathOf(p)) && !Directory.Exists(Repository.PathOf(p))).ToList();
        Assert.True(missing.Count == 0, $"{page} names paths that do not exist: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TablePaths_RowNamingAMovedFolder_IsReportedMissing()
    {
        const string table = "| path | what |\n| --- | --- |\n| `services/Quant`, `libs/domain/Quant` | bars |\n| `tests/<Project>.Tests` | tests |\n";

        var paths = TablePaths(table);

        Assert.Equal(["services/Quant", "libs/domain/Quant"], paths);
        Assert.False(Directory.Exists(Repository.PathOf(paths[0])));
        Assert.True(Directory.Exists(Repository.PathOf(paths[1])));
    }

    /// <summary>The code spans of each table row's first cell that look like repository paths (placeholders left out).</summary>
    private static List<string> TablePaths(string markdown) =>
        markdown.Split('\n')
            .Where(line => line.StartsWith("| `"))
            .Select(line => line.Split('|')[1])
            .SelectMany(cell => CodeSpan().Matches(cell).Select(m => m.Groups[1].Value))
            .Where(p => !p.Contains('<') && !p.Contains(' '))
            .Select(p => p.TrimEnd('/'))
            .ToList();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
