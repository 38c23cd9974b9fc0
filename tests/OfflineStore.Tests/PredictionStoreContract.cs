using Platform.OfflineStore.Monitoring;
using Platform.TestSupport;

namespace Platform.OfflineStore.Tests;

/// <summary>What every <see cref="IPredictionStore"/> adapter must do; each adapter's class only says how to open one.</summary>
public abstract class PredictionStoreContract() : StoreContract<IPredictionStore>(store => store.InitializeAsync())
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static PredictionRecord Prediction(string id, int day, string model = "m", string symbol = "AAA", double value = 0.01, int version = 1) =>
        new(id, model, version, symbol, "1d", T0.AddDays(day), 5, "return", value, Now);

    private static OutcomeRecord Outcome(string id, double realised, double last = 0.0) => new(id, realised, last, double.NaN, T0.AddDays(40), Now);

    [Fact]
    public async Task AddPredictionsAsync_SameRequestIdAgain_StoresItOnce()
    {
        var first = await Store.AddPredictionsAsync([Prediction("r1", 0), Prediction("r2", 1)]);
        var again = await Store.AddPredictionsAsync([Prediction("r1", 0, value: 9.0), Prediction("r3", 2)]);

        Assert.Equal((2, 1), (first, again));
        var rows = await Store.QueryAsync(new PredictionQuery("m"));
        Assert.Equal(["r3", "r2", "r1"], rows.Select(r => r.Prediction.RequestId));
        Assert.Equal(0.01, rows.Single(r => r.Prediction.RequestId == "r1").Prediction.Value);
    }

    [Fact]
    public async Task GetPendingAsync_AfterOutcomes_ListsOnlyUnjoinedOfTheSeriesBeforeTheTime()
    {
        await Store.AddPredictionsAsync([Prediction("a0", 0), Prediction("a1", 1), Prediction("a9", 9), Prediction("b0", 0, symbol: "BBB")]);
        await Store.AddOutcomesAsync([Outcome("a0", 0.02)]);

        var pending = await Store.GetPendingAsync("AAA", "1d", T0.AddDays(5), 100);

        Assert.Equal(["a1"], pending.Select(p => p.RequestId));
    }

    [Fact]
    public async Task GetPendingAsync_AfterACursor_ListsOnlyThoseAfterItByTimeThenRequestId()
    {
        await Store.AddPredictionsAsync([Prediction("b", 1), Prediction("a", 1), Prediction("c", 1), Prediction("d", 2), Prediction("z", 0)]);

        var pending = await Store.GetPendingAsync("AAA", "1d", T0.AddDays(5), 100, after: (T0.AddDays(1), "b"));

        Assert.Equal(["c", "d"], pending.Select(p => p.RequestId));
        Assert.Equal(["z", "a", "b", "c", "d"], (await Store.GetPendingAsync("AAA", "1d", T0.AddDays(5), 100)).Select(p => p.RequestId));
    }

    [Fact]
    public async Task AddOutcomesAsync_Redelivered_KeepsTheFirstOutcome()
    {
        await Store.AddPredictionsAsync([Prediction("r1", 0)]);

        var first = await Store.AddOutcomesAsync([Outcome("r1", 0.02, last: 0.5)]);
        var again = await Store.AddOutcomesAsync([Outcome("r1", 0.99)]);

        Assert.Equal((1, 0), (first, again));
        var row = Assert.Single(await Store.QueryAsync(new PredictionQuery("m", JoinedOnly: true)));
        Assert.Equal((0.02, 0.5), (row.Outcome!.Realised, row.Outcome.Last));
        Assert.True(double.IsNaN(row.Outcome.Trailing));
        Assert.Equal((1L, 1L), await Store.CountAsync("m"));
    }

    [Fact]
    public async Task QueryAsync_PagedWithCursor_ReturnsEveryRowOnceNewestFirst()
    {
        await Store.AddPredictionsAsync(Enumerable.Range(0, 7).Select(i => Prediction($"p{i}", i / 2)).ToList());
        var seen = new List<string>();
        (DateTimeOffset, string)? cursor = null;
        while (true)
        {
            var page = await Store.QueryAsync(new PredictionQuery("m", Limit: 3, Before: cursor));
            if (page.Count == 0) break;
            seen.AddRange(page.Select(p => p.Prediction.RequestId));
            cursor = (page[^1].Prediction.Time, page[^1].Prediction.RequestId);
        }

        Assert.Equal(["p6", "p5", "p4", "p3", "p2", "p1", "p0"], seen);
    }

    [Fact]
    public async Task QueryAsync_VersionAndRange_FiltersBoth()
    {
        await Store.AddPredictionsAsync([Prediction("v1a", 0), Prediction("v2a", 1, version: 2), Prediction("v2b", 5, version: 2),
            Prediction("other", 1, model: "n")]);

        var rows = await Store.QueryAsync(new PredictionQuery("m", Version: 2, From: T0, To: T0.AddDays(3)));

        Assert.Equal(["v2a"], rows.Select(r => r.Prediction.RequestId));
    }

    [Fact]
    public async Task RecordRejectedAsync_SameEventTwice_KeepsTheFirstReason()
    {
        await Store.RecordRejectedAsync(new RejectedPrediction("pred:x", "unknown model 'zzz'", "{}", Now));
        await Store.RecordRejectedAsync(new RejectedPrediction("pred:x", "another reason", "{}", Now));

        var rejected = Assert.Single(await Store.GetRejectedAsync(10));
        Assert.Equal("unknown model 'zzz'", rejected.Reason);
    }

    [Fact]
    public async Task AddDriftAsync_SameIdTwice_StoresOneWithItsEvidence()
    {
        var drift = new DriftRecord("drift:m:2024-02-01T00:00:00.0000000Z", "m", 3, T0, T0.AddDays(31), 20,
            [new DriftEvidence("prediction", "psi", 0.4, 0.25), new DriftEvidence("target", "ks", 0.5, 0.3)], Now);

        Assert.True(await Store.AddDriftAsync(drift));
        Assert.False(await Store.AddDriftAsync(drift with { Version = 4 }));

        var stored = Assert.Single(await Store.GetDriftAsync("m", 10));
        Assert.Equal((3, 20, T0.AddDays(31)), (stored.Version, stored.WindowSize, stored.WindowEnd));
        Assert.Equal(drift.Evidence, stored.Evidence);
    }
}

public sealed class SqlitePredictionStoreTests : PredictionStoreContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("monitoring-sqlite-").FullName;

    protected override Task<IPredictionStore> OpenAsync() => Task.FromResult<IPredictionStore>(SqlitePredictionStore.InDataDir(_dir));

    [Fact]
    public async Task InitializeAsync_FileFromBeforeTheJoinedFlag_ListsAsPendingOnlyWhatHasNoOutcome()
    {
        var old = Directory.CreateDirectory(Path.Combine(_dir, "old")).FullName;
        var t0 = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(old, SqlitePredictionStore.FileName)};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            // The two tables as the earlier version created them, with one joined prediction and one pending.
            create.CommandText = $"""
                CREATE TABLE predictions (request_id TEXT NOT NULL PRIMARY KEY, model TEXT NOT NULL, version INTEGER NOT NULL,
                    symbol TEXT NOT NULL, interval TEXT NOT NULL, time INTEGER NOT NULL, horizon INTEGER NOT NULL, target TEXT NOT NULL,
                    value REAL NOT NULL, received_at INTEGER NOT NULL);
                CREATE INDEX predictions_series ON predictions(symbol, interval, time);
                CREATE TABLE outcomes (request_id TEXT NOT NULL PRIMARY KEY REFERENCES predictions(request_id), realised REAL NOT NULL,
                    baseline_last REAL NOT NULL, baseline_trailing REAL NOT NULL, known_at INTEGER NOT NULL, joined_at INTEGER NOT NULL);
                INSERT INTO predictions VALUES ('a0', 'm', 1, 'AAA', '1d', {t0}, 5, 'return', 0.01, {t0});
                INSERT INTO predictions VALUES ('a1', 'm', 1, 'AAA', '1d', {t0 + TimeSpan.TicksPerDay}, 5, 'return', 0.01, {t0});
                INSERT INTO outcomes VALUES ('a0', 0.02, 0, 0, {t0}, {t0});
                """;
            create.ExecuteNonQuery();
        }
        var store = SqlitePredictionStore.InDataDir(old);

        await store.InitializeAsync();

        Assert.Equal(["a1"], (await store.GetPendingAsync("AAA", "1d", DateTimeOffset.MaxValue, 10)).Select(p => p.RequestId));
        Assert.Equal((2L, 1L), await store.CountAsync("m"));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

public sealed class PostgresPredictionStoreTests : PredictionStoreContract
{
    protected override async Task<IPredictionStore> OpenAsync() =>
        PostgresPredictionStore.Create(await PostgresCluster.CreateDatabaseAsync("monitoring"));

    [Fact]
    public async Task InitializeAsync_DatabaseFromBeforeTheJoinedFlag_ListsAsPendingOnlyWhatHasNoOutcome()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("monitoring_old");
        await using (var connection = new Npgsql.NpgsqlConnection(cs))
        {
            await connection.OpenAsync();
            // The schema as the earlier version left it (its two migrations, recorded), with one joined prediction and one pending.
            var setup = string.Join(";\n", PostgresPredictionSql.Migrations.Take(2)) + """
                ;
                CREATE TABLE monitoring_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO monitoring_schema_migrations(version) VALUES (1), (2);
                INSERT INTO predictions VALUES ('a0', 'm', 1, 'AAA', '1d', '2024-01-01Z', 5, 'return', 0.01, '2024-01-01Z');
                INSERT INTO predictions VALUES ('a1', 'm', 1, 'AAA', '1d', '2024-01-02Z', 5, 'return', 0.01, '2024-01-01Z');
                INSERT INTO outcomes VALUES ('a0', 0.02, 0, 0, '2024-01-06Z', '2024-01-06Z');
                """;
            await using var cmd = new Npgsql.NpgsqlCommand(setup, connection);
            await cmd.ExecuteNonQueryAsync();
        }
        await using var store = PostgresPredictionStore.Create(cs);

        await store.InitializeAsync();

        Assert.Equal(["a1"], (await store.GetPendingAsync("AAA", "1d", DateTimeOffset.MaxValue, 10)).Select(p => p.RequestId));
        Assert.Equal((2L, 1L), await store.CountAsync("m"));
    }
}
