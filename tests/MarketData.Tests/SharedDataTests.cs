using Microsoft.Extensions.Logging.Abstractions;
using Platform.MarketData.Import;
using Platform.OfflineStore.Sqlite;

namespace Platform.MarketData.Tests;

/// <summary>Imports the real files of ../shared/data/market through the importer (CI has them beside the repository).</summary>
[Trait("Category", "Slow")]
public sealed class SharedDataTests
{
    /// <summary>A theory skipped, with the reason, only when ../shared is absent.</summary>
    public sealed class SharedDataTheoryAttribute : TheoryAttribute
    {
        public SharedDataTheoryAttribute()
        {
            if (MarketDir() is null) Skip = "../shared/data/market is not beside the repository (CI provides it); the real-file import check cannot run.";
        }
    }

    internal static string? MarketDir() => MarketDir(AppContext.BaseDirectory) ?? MarketDir(SourceDir());

    private static string SourceDir([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? "";

    private static string? MarketDir(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
            {
                var market = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "market"));
                return Directory.Exists(market) ? market : null;
            }
        return null;
    }

    [SharedDataTheory]
    [InlineData("nvda-daily.csv", "NVDA", 4012, "1d")]
    [InlineData("orcl-daily.csv", "ORCL", 5036, "1d")]
    [InlineData("yhoo-daily.csv", "YHOO", 4965, "1d")]
    [InlineData("index-future-2006-minute.csv", "FUT", 30889, "1m")]
    public async Task ImportFileAsync_SharedMarketFile_ImportsEveryRow(string file, string symbol, int rows, string interval)
    {
        var market = MarketDir();
        var dir = Directory.CreateTempSubdirectory("md-shared-").FullName;
        try
        {
            var store = SqliteBarStore.InDataDir(dir);
            var report = await new BarImporter(store, NullLogger<BarImporter>.Instance).ImportFileAsync(Path.Combine(market!, file), new ImportOptions(symbol));

            Assert.True(report.Committed, string.Join("\n", report.Messages().Take(10)));
            Assert.Equal((rows, (long)rows, interval), (report.Rows, report.Inserted, report.Interval));
            Assert.Empty(report.Rejected);
            if (interval == "1m") Assert.Contains(report.Notes, n => n.Contains("header omits Time"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
