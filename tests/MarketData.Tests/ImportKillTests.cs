using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.MarketData.Testing;
using Platform.TestSupport;

namespace Platform.MarketData.Tests;

/// <summary>
/// Imports and SIGKILL, with real processes: the marketdata service runs as an OS process of its own (its own entry point,
/// embedded runtime, SQLite files in a temporary data directory) and imports a large CSV through
/// <c>POST /v1/market/imports</c> (a server-side file). <c>MarketData:Testing:HaltAt</c> stops it at one point of the import
/// (see <see cref="KillPoints"/>), where it is killed; a second process is started on the same data directory. The bar
/// table then holds none or all of the import's rows, <c>series</c> agrees with it, and a committed import's
/// <see cref="BarsImported"/> reaches a consumer (a subscriber in this test process, for the whole test) at least once:
/// 0 partial, 0 lost.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ImportKillTests : IAsyncLifetime
{
    private const string Symbol = "KILL";
    private const int Rows = 40_000;
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(3);
    private static readonly DateTimeOffset First = new(2024, 1, 2, 0, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "md-kill-" + Guid.NewGuid().ToString("N"));
    private Consumer _consumer = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        var csv = new StringBuilder("Date,Time,Open,High,Low,Close,Volume\n", Rows * 50);
        for (var i = 0; i < Rows; i++)
        {
            var t = First.AddMinutes(i);
            var close = 100 + 10 * Math.Sin(i / 97.0);
            csv.Append(CultureInfo.InvariantCulture, $"{t:yyyy-MM-dd},{t:HH:mm:ss},{close:F4},{close + 0.5:F4},{close - 0.5:F4},{close:F4},{1000 + i % 500}\n");
        }
        await File.WriteAllTextAsync(CsvPath, csv.ToString());
        _consumer = await Consumer.StartAsync(_dir);
    }

    public async Task DisposeAsync()
    {
        await _consumer.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string CsvPath => Path.Combine(_dir, "kill.csv");

    private static Dictionary<string, string> Settings(string? haltAt)
    {
        var settings = new Dictionary<string, string> { ["MarketData:Demo:Enabled"] = "false" };
        if (haltAt is not null) settings[KillPoints.ConfigurationKey] = haltAt;
        return settings;
    }

    [Theory]
    [InlineData(KillPoints.BeforeCommit)]
    [InlineData(KillPoints.AfterCommit)]
    [InlineData(KillPoints.BeforePublish)]
    [InlineData(KillPoints.AfterPublish)]
    public async Task Import_KilledAtPoint_RestartHoldsNoneOrAllRowsAndDeliversItsEvent(string point)
    {
        using (var first = await ServiceChildProcess.StartAsync("MarketData", _dir, Settings(point), Wait))
        {
            using var http = first.Client();
            var post = http.PostAsJsonAsync("/v1/market/imports", new { symbol = Symbol, path = CsvPath, interval = "1m" });
            await first.WaitForLineAsync($"HALTED {point}", Wait);
            first.Kill();
            // The request dies with the process (or, after the commit, may just have been answered).
            try { (await post).Dispose(); } catch (HttpRequestException) { } catch (TaskCanceledException) { }
        }

        // On disk, before anyone recovers it: all or nothing, the series row agreeing, the outbox row with the bars.
        var committed = point != KillPoints.BeforeCommit;
        var disk = Read();
        Assert.Equal(committed ? Rows : 0, disk.Bars);
        Assert.Equal(committed ? (First, First.AddMinutes(Rows - 1), (long)Rows) : null, disk.Series);
        Assert.Equal(committed ? 1 : 0, disk.Outbox.Count);
        if (point == KillPoints.BeforePublish)
        {
            Assert.True(disk.Outbox[0].Pending, "the halted relay had marked the event sent");
            Assert.DoesNotContain(disk.Outbox[0].EventId, EmbeddedEventLog.Ids(_dir, Topics.MarketBars));
        }
        if (point == KillPoints.AfterPublish)
        {
            Assert.True(disk.Outbox[0].Pending, "the event was marked sent before the kill");
            Assert.Contains(disk.Outbox[0].EventId, EmbeddedEventLog.Ids(_dir, Topics.MarketBars));
        }

        using var second = await ServiceChildProcess.StartAsync("MarketData", _dir, Settings(null), Wait);
        using var client = second.Client();
        if (committed)
        {
            var eventId = disk.Outbox[0].EventId;
            // The restarted relay publishes what the killed one had not marked sent; the consumer sees it.
            await Until(() => Read().Outbox.All(o => !o.Pending) && _consumer.Ids().Contains(eventId),
                () => $"outbox {string.Join(",", Read().Outbox)}; consumer saw [{string.Join(",", _consumer.Ids())}]\n{second.Output}");
            var seen = _consumer.Imports();
            Assert.All(seen, e => Assert.Equal((eventId, Symbol, "1m", First, First.AddMinutes(Rows - 1), (long)Rows),
                ("import:" + e.ImportId, e.Symbol, e.Interval, e.From, e.To, e.Count)));
            // At least once: a relay killed after publishing publishes again, with the same id. Killed before it published,
            // it was published once; after, twice; after the commit, the relay may or may not have marked it sent in time.
            var published = EmbeddedEventLog.Ids(_dir, Topics.MarketBars).Count(id => id == eventId);
            if (point == KillPoints.AfterCommit) Assert.InRange(published, 1, 2);
            else Assert.Equal(point == KillPoints.AfterPublish ? 2 : 1, published);
        }
        else
        {
            // Nothing was committed, so nothing may be published; the same import then goes through whole.
            var retried = await client.PostAsJsonAsync("/v1/market/imports", new { symbol = Symbol, path = CsvPath, interval = "1m" });
            var report = await retried.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(retried.StatusCode == HttpStatusCode.Created, report.ToString());
            Assert.Equal(Rows, report.GetProperty("inserted").GetInt64());
            var eventId = "import:" + report.GetProperty("importId").GetString();
            await Until(() => _consumer.Ids().Contains(eventId),
                () => $"consumer saw [{string.Join(",", _consumer.Ids())}]\n{second.Output}");
            Assert.Equal([eventId], _consumer.Ids().Distinct());
        }

        var after = Read();
        Assert.Equal(Rows, after.Bars);
        Assert.Equal((First, First.AddMinutes(Rows - 1), (long)Rows), after.Series);
        var symbols = await client.GetFromJsonAsync<JsonElement>("/v1/market/symbols");
        var coverage = symbols.EnumerateArray().Single(s => s.GetProperty("symbol").GetString() == Symbol).GetProperty("intervals").EnumerateArray().Single();
        Assert.Equal(Rows, coverage.GetProperty("count").GetInt64());
        Assert.Equal(First, coverage.GetProperty("first").GetDateTimeOffset());
        Assert.Equal(First.AddMinutes(Rows - 1), coverage.GetProperty("last").GetDateTimeOffset());
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <see cref="Wait"/> with <paramref name="describe"/>.</summary>
    private static async Task Until(Func<bool> condition, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"not within {Wait}: {describe()}");
            await Task.Delay(50);
        }
    }

    private sealed record OutboxRow(string EventId, bool Pending);

    private sealed record DiskState(long Bars, (DateTimeOffset First, DateTimeOffset Last, long Count)? Series, List<OutboxRow> Outbox);

    /// <summary>The bar, series and outbox tables of <c>bars.db</c> as a fresh connection sees them.</summary>
    private DiskState Read()
    {
        var file = Path.Combine(_dir, Platform.OfflineStore.Sqlite.SqliteBarReader.FileName);
        if (!File.Exists(file)) return new DiskState(0, null, []);
        using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout = 30000";
        busy.ExecuteNonQuery();
        bool HasTable(string name)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name";
            cmd.Parameters.AddWithValue("$name", name);
            return (long)cmd.ExecuteScalar()! == 1;
        }
        if (!HasTable("bars")) return new DiskState(0, null, []);

        using var bars = connection.CreateCommand();
        bars.CommandText = "SELECT count(*) FROM bars WHERE symbol = $symbol";
        bars.Parameters.AddWithValue("$symbol", Symbol);
        var count = (long)bars.ExecuteScalar()!;

        using var series = connection.CreateCommand();
        series.CommandText = "SELECT first, last, count FROM series WHERE symbol = $symbol";
        series.Parameters.AddWithValue("$symbol", Symbol);
        (DateTimeOffset, DateTimeOffset, long)? coverage = null;
        using (var reader = series.ExecuteReader())
        {
            if (reader.Read())
                coverage = (new DateTimeOffset(reader.GetInt64(0), TimeSpan.Zero), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), reader.GetInt64(2));
        }

        using var outbox = connection.CreateCommand();
        outbox.CommandText = "SELECT event_id, sent_at IS NULL FROM outbox WHERE type = $type ORDER BY id";
        outbox.Parameters.AddWithValue("$type", nameof(BarsImported));
        var rows = new List<OutboxRow>();
        using (var reader = outbox.ExecuteReader())
        {
            while (reader.Read()) rows.Add(new OutboxRow(reader.GetString(0), reader.GetInt64(1) == 1));
        }
        return new DiskState(count, coverage, rows);
    }

    /// <summary>A subscriber of <c>market-bars</c> in this process, on the same data directory, recording every delivery.</summary>
    private sealed class Consumer : IAsyncDisposable
    {
        private readonly ConcurrentQueue<(string Id, BarsImported? Import)> _seen = new();
        private IHost _host = null!;

        public static async Task<Consumer> StartAsync(string dataDir)
        {
            var consumer = new Consumer();
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Configuration["Runtime:Mode"] = "embedded";
            builder.Configuration["DataDir"] = dataDir;
            builder.Configuration["PubSub:Embedded:PollInterval"] = "00:00:00.050";
            builder.Services.AddBuildingBlocks(RuntimeSettings.From(builder.Configuration, "import-kill-consumer"), builder.Configuration);
            builder.Services.GetOrAddSubscriptionRegistry();
            builder.Services.AddRawEventHandler(Topics.MarketBars, (_, e, _) =>
            {
                consumer._seen.Enqueue((e.Id, e.Type == nameof(BarsImported) ? e.DataAs<BarsImported>() : null));
                return Task.FromResult(DeliveryResult.Success);
            });
            consumer._host = builder.Build();
            await consumer._host.StartAsync();
            return consumer;
        }

        public IReadOnlyList<string> Ids() => _seen.Select(s => s.Id).ToList();

        public IReadOnlyList<BarsImported> Imports() => _seen.Where(s => s.Import is not null).Select(s => s.Import!).ToList();

        public async ValueTask DisposeAsync()
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StopAsync(stop.Token);
            _host.Dispose();
        }
    }
}
