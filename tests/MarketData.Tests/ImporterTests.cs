using Microsoft.Extensions.Logging.Abstractions;
using Platform.MarketData.Import;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;

namespace Platform.MarketData.Tests;

public sealed class ImporterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("md-import-").FullName;
    private readonly SqliteBarStore _store;
    private readonly BarImporter _importer;

    public ImporterTests()
    {
        _store = SqliteBarStore.InDataDir(_dir);
        _importer = new BarImporter(_store, NullLogger<BarImporter>.Instance);
    }

    private const string Yahoo = """
        Date,Open,High,Low,Close,Adj Close,Volume
        2024-01-02,10.0,11.0,9.5,10.5,10.4,1000
        2024-01-03,10.5,12.0,10.0,11.5,11.4,2000
        2024-01-04,11.5,11.8,11.0,11.2,11.1,1500
        """;

    private Task<ImportReport> ImportAsync(string csv, ImportOptions options) =>
        _importer.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "test.csv", options);

    private async Task<List<OutboxMessage>> DrainAsync()
    {
        var sent = new List<OutboxMessage>();
        while (await _store.RelayOutboxAsync((b, _) => { sent.AddRange(b); return Task.CompletedTask; }) > 0) { }
        return sent;
    }

    [Fact]
    public async Task ImportAsync_YahooDaily_StoresBarsWithAdjCloseAndQueuesOneBarsImported()
    {
        var report = await ImportAsync(Yahoo, new ImportOptions("ACME"));

        Assert.True(report.Committed, report.Error);
        Assert.Equal((3, 3L, "1d"), (report.Rows, report.Inserted, report.Interval));
        var bars = await _store.GetBarsAsync(new BarQuery("ACME", BarInterval.OneDay));
        Assert.Equal(new Bar(new DateTimeOffset(2024, 1, 3, 0, 0, 0, TimeSpan.Zero), 10.5, 12.0, 10.0, 11.5, 2000, 11.4), bars[1]);
        var e = Assert.Single(await DrainAsync());
        Assert.Equal(("BarsImported", $"import:{report.ImportId}", "ACME"), (e.Event.Type, e.Event.Id, e.Event.PartitionKey));
        Assert.Contains("\"count\":3", Encoding.UTF8.GetString(e.Event.Data.Span));
    }

    [Fact]
    public async Task ImportAsync_SameFileTwice_SecondChangesNothingAndPublishesNothing()
    {
        await ImportAsync(Yahoo, new ImportOptions("ACME"));
        await DrainAsync();

        var again = await ImportAsync(Yahoo, new ImportOptions("ACME"));

        Assert.True(again.Committed);
        Assert.Equal((0L, 3L, false), (again.Inserted, again.Unchanged, again.EventQueued));
        Assert.Empty(await DrainAsync());
    }

    [Fact]
    public async Task ImportAsync_HeaderOmitsTime_DetectsTimeColumnAndSaysSo()
    {
        const string csv = """
            Date,Open,High,Low,Close,Volume,OpenInterest
            2006-01-02,09:01:00,3602.00,3603.00,3597.00,3599.00,5699,0
            2006-01-02,09:02:00,3600.00,3601.00,3598.00,3599.00,894,0
            2006-01-02,09:04:00,3599.00,3600.00,3598.00,3600.00,120,0
            """;

        var report = await ImportAsync(csv, new ImportOptions("FUT"));

        Assert.True(report.Committed, report.Error);
        Assert.Equal(("1m", 3L), (report.Interval, report.Inserted));
        Assert.Contains(report.Notes, n => n.Contains("header omits Time"));
        var bars = await _store.GetBarsAsync(new BarQuery("FUT", BarInterval.OneMinute));
        Assert.Equal(new DateTimeOffset(2006, 1, 2, 9, 1, 0, TimeSpan.Zero), bars[0].Time);
        Assert.Equal((3602.0, 5699.0), (bars[0].Open, bars[0].Volume));
    }

    [Fact]
    public async Task ImportAsync_HeaderAndRowsDisagree_FailsNamingBothCounts()
    {
        const string csv = """
            Date,Open,High,Low,Close,Volume
            2024-01-02,1,2,0.5,1.5,100,7,8
            """;

        var report = await ImportAsync(csv, new ImportOptions("X"));

        Assert.False(report.Committed);
        Assert.Equal(2, report.ErrorLine);
        Assert.Contains("header has 6 columns", report.Error);
        Assert.Contains("line 2 has 8 fields", report.Error);
        Assert.StartsWith("test.csv:2: header has 6 columns", report.Messages().First());
    }

    [Fact]
    public async Task ImportAsync_OneInvalidRow_ImportsNothingAndReportsLineAndReason()
    {
        var csv = Yahoo + "\n2024-01-05,11.2,11.0,10.0,10.5,10.4,100\n2024-01-08,null,null,null,null,null,null";

        var report = await ImportAsync(csv, new ImportOptions("ACME"));

        Assert.False(report.Committed);
        Assert.Equal([5, 6], report.Rejected.Select(r => r.Line));
        Assert.Contains("high 11 is below max(open, close) 11.2", report.Rejected[0].Reason);
        Assert.Contains("missing", report.Rejected[1].Reason);
        Assert.Empty(await _store.GetCoverageAsync());
    }

    [Fact]
    public async Task ImportAsync_SkipInvalid_ImportsValidRowsAndReportsTheRest()
    {
        var csv = Yahoo + "\n2024-01-05,11.2,11.0,10.0,10.5,10.4,100\n2024-01-03,11.5,11.8,11.0,11.3,11.1,1500";

        var report = await ImportAsync(csv, new ImportOptions("ACME") { SkipInvalid = true });

        Assert.True(report.Committed);
        Assert.Equal(3L, report.Inserted);
        Assert.Equal([(5, "high"), (6, "before")], report.Rejected.Select(r => (r.Line, r.Reason.Contains("high") ? "high" : r.Reason.Contains("before") ? "before" : r.Reason)));
    }

    [Fact]
    public async Task ImportAsync_IdenticalDuplicateRow_TakenOnceButConflictingDuplicateRejected()
    {
        var identical = Yahoo + "\n2024-01-04,11.5,11.8,11.0,11.2,11.1,1500";
        var conflicting = Yahoo + "\n2024-01-04,11.5,11.8,11.0,11.3,11.1,1500";

        var ok = await ImportAsync(identical, new ImportOptions("DUP"));
        var bad = await ImportAsync(conflicting, new ImportOptions("DUP2"));

        Assert.True(ok.Committed);
        Assert.Equal((3L, 1), (ok.Inserted, ok.DuplicateRows));
        Assert.False(bad.Committed);
        Assert.Contains("conflicting duplicate of line 4", Assert.Single(bad.Rejected).Reason);
    }

    [Fact]
    public async Task ImportAsync_ConflictWithStoredBar_ReportedWithLineUnlessOverwrite()
    {
        await ImportAsync(Yahoo, new ImportOptions("ACME"));
        var changed = Yahoo.Replace("11.5,11.4,2000", "11.6,11.4,2000");

        var rejected = await ImportAsync(changed, new ImportOptions("ACME"));
        var overwritten = await ImportAsync(changed, new ImportOptions("ACME") { Overwrite = true });

        Assert.False(rejected.Committed);
        var row = Assert.Single(rejected.Rejected);
        Assert.Equal(3, row.Line);
        Assert.Contains("conflicts with the stored bar", row.Reason);
        Assert.True(overwritten.Committed);
        Assert.Equal(1L, overwritten.Updated);
    }

    [Fact]
    public async Task ImportAsync_SemicolonsDecimalCommaSeparateDateTimeAndTimeZone_ConvertsToUtc()
    {
        const string csv = """
            Datum;Zeit;Open;High;Low;Close;Vol
            02.01.2024;09:00;10,5;11,0;10,0;10,75;1200
            02.01.2024;10:00;10,75;11,5;10,5;11,25;800
            """;

        var report = await ImportAsync(csv, new ImportOptions("DAX") { TimeZone = BarFileLayout.ParseTimeZone("Europe/Berlin"), Layout = null });

        Assert.True(report.Committed, report.Error + string.Join("; ", report.Rejected));
        Assert.Equal("1h", report.Interval);
        var bars = await _store.GetBarsAsync(new BarQuery("DAX", BarInterval.OneHour));
        Assert.Equal(new Bar(new DateTimeOffset(2024, 1, 2, 8, 0, 0, TimeSpan.Zero), 10.5, 11.0, 10.0, 10.75, 1200), bars[0]);
    }

    [Fact]
    public async Task ImportAsync_ExplicitColumnsWithoutHeader_UsesThem()
    {
        const string csv = "20240102,100,101,99,100.5,5\n20240103,100.5,102,100,101,6";
        var layout = new BarFileLayout { Columns = BarFileLayout.ParseColumns("date,open,high,low,close,volume"), HasHeader = false };

        var report = await ImportAsync(csv, new ImportOptions("RAW") { Layout = layout });

        Assert.True(report.Committed, report.Error);
        Assert.Equal(2L, report.Inserted);
    }

    [Fact]
    public async Task ImportAsync_NoHeader_FailsAskingForColumns()
    {
        var report = await ImportAsync("2024-01-02,1,2,0.5,1.5,100", new ImportOptions("X"));

        Assert.False(report.Committed);
        Assert.Contains("not a header", report.Error);
        Assert.Contains("--columns", report.Error);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
