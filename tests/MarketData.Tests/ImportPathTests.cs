using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.MarketData.Import;
using Platform.OfflineStore;
using Platform.OfflineStore.Postgres;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.TestSupport;

namespace Platform.MarketData.Tests;

/// <summary>
/// The import's fast path: the in-place parser reads rows as the framework would, lines end as <see cref="TextReader.ReadLine"/>
/// says, and a file lands the same whether its range was empty (direct write) or overlapped stored bars (merge).
/// </summary>
public sealed class ImportPathTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("md-import-path-").FullName;

    private static readonly BarFileLayout Daily = new()
    {
        Columns = [ColumnRole.Date, ColumnRole.Open, ColumnRole.High, ColumnRole.Low, ColumnRole.Close, ColumnRole.Volume],
    };

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Parse_Decimals_ReadExactlyAsDoubleParse()
    {
        var parser = new BarFileParser(Daily);
        var rng = new Random(7);
        var cases = new List<string> { "0.1", "5.", ".5", "0000123.4500", "123456789012345", "1234567890123456", "99999999999999.9", "1e5", " 7.25 ",
            "0.000000000000001", "1.7976931348623157", "4503599627370497", "0", "3.14159265358979" };
        for (var i = 0; i < 20_000; i++)
        {
            var digits = rng.Next(1, 18);
            var text = string.Concat(Enumerable.Range(0, digits).Select(_ => (char)('0' + rng.Next(10))));
            var point = rng.Next(0, digits + 1);
            cases.Add(point == digits ? text : text[..point] + "." + text[point..]);
        }

        foreach (var number in cases)
        {
            var (bar, error) = parser.Parse($"2024-01-02,{number},{number},{number},{number},{number}");
            var expected = double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.True(error is null, $"{number}: {error}");
            Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(bar.Open),
                $"{number}: {bar.Open:R} instead of {expected:R}");
            Assert.Equal(expected, bar.Volume);
        }
    }

    [Theory]
    [InlineData("2024-02-29", null)]
    [InlineData("2023-02-29", "date '2023-02-29' does not match")]
    [InlineData("2024-13-01", "date '2024-13-01' does not match")]
    [InlineData("0000-01-01", "date '0000-01-01' does not match")]
    [InlineData("2024-1-05", "date '2024-1-05' does not match")]
    [InlineData(" 2024-01-05 ", null)]
    public void Parse_Dates_AsTheFrameworkReadsThem(string date, string? error)
    {
        var (bar, reason) = new BarFileParser(Daily with { DateFormat = "yyyy-MM-dd" }).Parse($"{date},1,2,0.5,1.5,10");

        if (error is null)
        {
            Assert.Null(reason);
            Assert.Equal(DateOnly.ParseExact(date.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture).ToDateTime(TimeOnly.MinValue), bar.Time.UtcDateTime);
        }
        else Assert.StartsWith(error, reason);
    }

    [Theory]
    [InlineData("HH:mm:ss", "23:59:59", 86399)]
    [InlineData("HH:mm:ss", "24:00:00", -1)]
    [InlineData("HH:mm:ss", "09:60:00", -1)]
    [InlineData("HH:mm", "09:30", 34200)]
    [InlineData("HHmmss", "093000", 34200)]
    [InlineData("H:mm", "9:30", 34200)]
    public void Parse_Times_AsTheFrameworkReadsThem(string format, string time, int seconds)
    {
        var layout = new BarFileLayout
        {
            Columns = [ColumnRole.Date, ColumnRole.Time, ColumnRole.Open, ColumnRole.High, ColumnRole.Low, ColumnRole.Close, ColumnRole.Volume],
            DateFormat = "yyyyMMdd",
            TimeFormat = format,
        };

        var (bar, error) = new BarFileParser(layout).Parse($"20240105,{time},1,2,0.5,1.5,10");

        if (seconds < 0) Assert.StartsWith($"time '{time}' does not match", error);
        else Assert.Equal(new DateTimeOffset(2024, 1, 5, 0, 0, 0, TimeSpan.Zero).AddSeconds(seconds), bar.Time);
    }

    [Fact]
    public void Parse_DecimalCommaQuotedAndMissingFields_ReadOrSayWhy()
    {
        var comma = new BarFileParser(Daily with { Delimiter = ';', DecimalSeparator = ',' });
        var plain = new BarFileParser(Daily);

        Assert.Equal(1234.5, comma.Parse("2024-01-02;1.234,5;1.300;1.200,25;1.250;7").Bar.Open);
        Assert.Equal(1200.25, comma.Parse("2024-01-02;1.234,5;1.300;1.200,25;1.250;7").Bar.Low);
        Assert.Equal(12.5, plain.Parse("\"2024-01-02\",\"12.5\",13,12,12.5,\"1\"").Bar.Open);
        Assert.Equal("has 5 fields, expected 6 (Date,Open,High,Low,Close,Volume)", plain.Parse("2024-01-02,1,2,0.5,1.5").Error);
        Assert.Equal("has 7 fields, expected 6 (Date,Open,High,Low,Close,Volume)", plain.Parse("2024-01-02,1,2,0.5,1.5,1,1").Error);
        Assert.Equal("close is missing ('null')", plain.Parse("2024-01-02,1,2,0.5,null,1").Error);
        Assert.Equal("open 'abc' is not a number", plain.Parse("2024-01-02,abc,2,0.5,1,1").Error);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task ParseAsync_LargeFile_LinesAndNumbersAsReadLine(string newline)
    {
        // Enough rows that reads end at every kind of place, a \r\n split between two reads among them.
        var text = new StringBuilder("Date,Open,High,Low,Close,Volume" + newline);
        var start = new DateOnly(1950, 1, 1);
        for (var i = 0; i < 30_000; i++)
        {
            if (i == 20_000) text.Append(newline); // a blank line: skipped, but counted
            text.Append(CultureInfo.InvariantCulture, $"{start.AddDays(i):yyyy-MM-dd},{10 + i % 7}.25,{20 + i % 7},{5 + i % 3}.5,{12 + i % 5}.75,{i}");
            text.Append(i == 29_999 ? "" : newline);
        }
        text.Replace("1950-01-11,", "1950-01-11,x", 0, 40 * 30);

        var file = await BarImporter.ParseAsync(new MemoryStream(Encoding.UTF8.GetBytes(text.ToString())), new ImportOptions("LINES"));

        Assert.Null(file.Error);
        Assert.Equal(29_999, file.Bars.Count);
        var rejected = Assert.Single(file.Rejected);
        Assert.Equal(12, rejected.Line);
        Assert.Equal((2, start.ToDateTime(TimeOnly.MinValue)), (file.Bars[0].Line, file.Bars[0].Bar.Time.UtcDateTime));
        Assert.Equal((30_002, start.AddDays(29_999).ToDateTime(TimeOnly.MinValue)), (file.Bars[^1].Line, file.Bars[^1].Bar.Time.UtcDateTime));
        Assert.Equal(29_999.0, file.Bars[^1].Bar.Volume);
    }

    private static string Csv(IEnumerable<int> days) =>
        "Date,Open,High,Low,Close,Volume\n" + string.Concat(days.Select(d =>
            string.Create(CultureInfo.InvariantCulture,
                $"{new DateOnly(2020, 1, 1).AddDays(d):yyyy-MM-dd},{100 + d}.5,{102 + d},{99 + d},{101 + d}.25,{1000 + d}\n")));

    [Fact]
    public async Task ImportAsync_EmptyRangeOrOverlappingRange_StoresTheSameBarsAndCoverage()
    {
        var direct = SqliteBarStore.InDataDir(Path.Combine(_dir, "direct"));
        var merged = SqliteBarStore.InDataDir(Path.Combine(_dir, "merged"));
        var file = Csv(Enumerable.Range(0, 200));
        var a = new BarImporter(direct, NullLogger<BarImporter>.Instance);
        var b = new BarImporter(merged, NullLogger<BarImporter>.Instance);
        var part = await b.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(Csv(Enumerable.Range(50, 20)))), "part.csv", new ImportOptions("SAME"));
        Assert.True(part.Committed);

        var first = await a.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(file)), "all.csv", new ImportOptions("SAME"));
        var second = await b.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(file)), "all.csv", new ImportOptions("SAME"));

        Assert.Equal((SeriesWritePath.Direct, 200L), (first.Timings!.WritePath, first.Inserted));
        Assert.Equal((SeriesWritePath.Merge, 180L, 20L), (second.Timings!.WritePath, second.Inserted, second.Unchanged));
        Assert.Equal(await direct.GetBarsAsync(new BarQuery("SAME", BarInterval.OneDay)), await merged.GetBarsAsync(new BarQuery("SAME", BarInterval.OneDay)));
        Assert.Equal(await direct.GetCoverageAsync(), await merged.GetCoverageAsync());
        Assert.Equal((first.From, first.To), (second.From, second.To));
    }

    [Fact]
    public async Task ImportAsync_IntradayFileLongerThanTheInferenceRows_InfersTheIntervalAndKeepsEveryRow()
    {
        var store = SqliteBarStore.InDataDir(_dir);
        var csv = new StringBuilder("Date,Time,Open,High,Low,Close,Volume\n");
        var t0 = new DateTime(2024, 3, 4, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < 12_000; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{t0.AddMinutes(2 * i):yyyy-MM-dd,HH:mm:ss},10.5,11,10,10.75,{i}\n");

        var report = await new BarImporter(store, NullLogger<BarImporter>.Instance)
            .ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "minutes.csv", new ImportOptions("MIN"));

        Assert.True(report.Committed, report.Error);
        Assert.Equal(("2m", 12_000, 12_000L), (report.Interval, report.Rows, report.Inserted));
        Assert.Contains("interval 2m inferred from the timestamps", report.Notes);
        Assert.Equal(new SeriesCoverage("MIN", BarInterval.Parse("2m"), new DateTimeOffset(t0), new DateTimeOffset(t0.AddMinutes(2 * 11_999)), 12_000),
            Assert.Single(await store.GetCoverageAsync("MIN")));
    }

    [Fact]
    public async Task ImportAsync_StoreFailsMidWrite_LeavesNoBarNoCoverageNoEvent()
    {
        var store = SqliteBarStore.InDataDir(_dir);
        await store.InitializeAsync();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.Path};Pooling=False"))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            var failing = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(3000).UtcTicks;
            cmd.CommandText = $"CREATE TRIGGER fail BEFORE INSERT ON bars WHEN NEW.time = {failing} "
                + "BEGIN SELECT RAISE(ABORT, 'disk full'); END";
            cmd.ExecuteNonQuery();
        }
        var importer = new BarImporter(store, NullLogger<BarImporter>.Instance);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() =>
            importer.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(Csv(Enumerable.Range(0, 5000)))), "big.csv", new ImportOptions("FAIL")));

        Assert.Contains("disk full", ex.Message);
        Assert.Empty(await store.GetBarsAsync(new BarQuery("FAIL", BarInterval.OneDay)));
        Assert.Empty(await store.GetCoverageAsync("FAIL"));
        Assert.Equal(0, await store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task ImportAsync_Postgres_StreamsIntoAnEmptyRangeMergesAnOverlapAndWritesNothingWhenRefusedOrFailing()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("import");
        try
        {
            await using var store = PostgresBarStore.Create(cs);
            await store.InitializeAsync();
            var importer = new BarImporter(store, NullLogger<BarImporter>.Instance);
            Task<ImportReport> Import(string csv, string symbol, bool skipInvalid = false) =>
                importer.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "pg.csv", new ImportOptions(symbol) { SkipInvalid = skipInvalid });

            var streamed = await Import(Csv(Enumerable.Range(0, 20_000)), "PGS");
            var overlap = await Import(Csv(Enumerable.Range(19_990, 20)), "PGS");
            var bad = Csv(Enumerable.Range(0, 20_000)).Replace("\n2030-06-15,", "\n2030-06-15,x", StringComparison.Ordinal);
            var refused = await Import(bad, "PGR");
            var skipped = await Import(bad, "PGK", skipInvalid: true);

            Assert.Equal((true, SeriesWritePath.Direct, 20_000L), (streamed.Timings!.Streamed, streamed.Timings.WritePath, streamed.Inserted));
            Assert.Equal((false, SeriesWritePath.Merge, 10L, 10L), (overlap.Timings!.Streamed, overlap.Timings.WritePath, overlap.Inserted, overlap.Unchanged));
            Assert.Equal(new SeriesCoverage("PGS", BarInterval.OneDay, new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
                new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(20_009), 20_010), Assert.Single(await store.GetCoverageAsync("PGS")));
            Assert.False(refused.Committed);
            Assert.Single(refused.Rejected);
            Assert.Empty(await store.GetBarsAsync(new BarQuery("PGR", BarInterval.OneDay)));
            Assert.Equal((true, 19_999L), (skipped.Committed, skipped.Inserted));

            await using (var connection = new Npgsql.NpgsqlConnection(cs))
            {
                await connection.OpenAsync();
                await using var cmd = new Npgsql.NpgsqlCommand("""
                    CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
                    CREATE TRIGGER fail_insert BEFORE INSERT ON bars FOR EACH ROW WHEN (NEW.symbol = 'PGF' AND NEW.time = '2045-01-01+00')
                        EXECUTE FUNCTION fail_insert();
                    """, connection);
                await cmd.ExecuteNonQueryAsync();
            }
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => Import(Csv(Enumerable.Range(0, 20_000)), "PGF"));
            Assert.Contains("disk full", ex.Message);
            Assert.Empty(await store.GetBarsAsync(new BarQuery("PGF", BarInterval.OneDay)));
            Assert.Empty(await store.GetCoverageAsync("PGF"));
            var pending = await store.PendingOutboxCountAsync();
            Assert.Equal(3, pending);
        }
        finally
        {
            // The test's database is dropped: each run would otherwise leave one behind on a shared server.
            var database = new Npgsql.NpgsqlConnectionStringBuilder(cs).Database;
            await using var admin = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(cs) { Database = "postgres" }.ConnectionString);
            await admin.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
