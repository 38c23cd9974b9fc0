using Platform.Features.History;
using Platform.Features.History.Postgres;
using Platform.Features.History.Sqlite;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.TestSupport;

namespace Platform.Features.Tests.History;

/// <summary>The behaviour both feature-history adapters share.</summary>
public abstract class FeatureHistoryContract
{
    protected abstract Task<IFeatureHistory> CreateAsync();

    private static readonly FeatureSet Set = FeatureSets.IndicatorsV1;
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static FeatureRow Row(int day, double seed)
    {
        var values = Enumerable.Range(0, Set.Count).Select(i => seed + i * 0.5).ToArray();
        values[0] = double.NaN;
        values[1] = double.NegativeInfinity;
        return new FeatureRow(T0.AddDays(day), values);
    }

    [Fact]
    public async Task Write_ThenRead_RoundTripsValuesIncludingNaNInTimeOrder()
    {
        var history = await CreateAsync();
        await history.WriteAsync(Set, "AAA", BarInterval.OneDay, [Row(0, 1), Row(1, 2), Row(2, 3)]);
        var rows = await history.GetAsync(new FeatureHistoryQuery(Set.Id, "AAA", BarInterval.OneDay));
        Assert.Equal([T0, T0.AddDays(1), T0.AddDays(2)], rows.Select(r => r.Time));
        TestBars.Identical(Row(1, 2).Values, rows[1].Values, "row 1");
        Assert.True(await history.ContainsAsync(Set.Id, "AAA", BarInterval.OneDay, T0.AddDays(2)));
        Assert.False(await history.ContainsAsync(Set.Id, "AAA", BarInterval.OneDay, T0.AddDays(3)));
    }

    [Fact]
    public async Task Write_SameTimeAgain_ReplacesTheRow()
    {
        var history = await CreateAsync();
        await history.WriteAsync(Set, "AAA", BarInterval.OneDay, [Row(0, 1), Row(1, 2)]);
        await history.WriteAsync(Set, "AAA", BarInterval.OneDay, [Row(1, 9)]);
        var rows = await history.GetAsync(new FeatureHistoryQuery(Set.Id, "AAA", BarInterval.OneDay));
        Assert.Equal(2, rows.Count);
        TestBars.Identical(Row(1, 9).Values, rows[1].Values, "rewritten row");
    }

    [Fact]
    public async Task Get_RangeAndLimit_FromInclusiveToExclusive()
    {
        var history = await CreateAsync();
        await history.WriteAsync(Set, "AAA", BarInterval.OneDay, Enumerable.Range(0, 10).Select(d => Row(d, d)).ToList());
        var rows = await history.GetAsync(new FeatureHistoryQuery(Set.Id, "AAA", BarInterval.OneDay, T0.AddDays(2), T0.AddDays(6), 3));
        Assert.Equal([T0.AddDays(2), T0.AddDays(3), T0.AddDays(4)], rows.Select(r => r.Time));
        Assert.Empty(await history.GetAsync(new FeatureHistoryQuery(Set.Id, "AAA", BarInterval.OneHour)));
        Assert.Empty(await history.GetAsync(new FeatureHistoryQuery(FeatureSets.Alpha158V1.Id, "AAA", BarInterval.OneDay)));
    }

    [Fact]
    public async Task GetCoverage_Series_FirstLastCount()
    {
        var history = await CreateAsync();
        await history.WriteAsync(Set, "AAA", BarInterval.OneDay, [Row(0, 1), Row(4, 2)]);
        await history.WriteAsync(Set, "BBB", BarInterval.OneDay, [Row(1, 1)]);
        var coverage = await history.GetCoverageAsync("AAA");
        Assert.Equal([new FeatureSeriesCoverage(Set.Id, "AAA", "1d", T0, T0.AddDays(4), 2)], coverage);
        Assert.Equal(2, (await history.GetCoverageAsync()).Count);
    }

    [Fact]
    public async Task WriteMany_SeveralSeriesAndSets_EachStoredAsWrittenAlone()
    {
        var history = await CreateAsync();
        var alpha = FeatureSets.Alpha158V1;
        var alphaRow = new FeatureRow(T0, Enumerable.Range(0, alpha.Count).Select(i => i * 0.25).ToArray());
        await history.WriteAsync(Set, "AAA", BarInterval.OneDay, [Row(0, 1)]);
        await history.WriteManyAsync([
            new FeatureSeriesRows(Set, "AAA", BarInterval.OneDay, [Row(0, 7), Row(1, 2)]),
            new FeatureSeriesRows(Set, "BBB", BarInterval.OneDay, [Row(0, 3)]),
            new FeatureSeriesRows(alpha, "AAA", BarInterval.OneDay, [alphaRow]),
            new FeatureSeriesRows(Set, "CCC", BarInterval.OneDay, []),
        ]);

        var aaa = await history.GetAsync(new FeatureHistoryQuery(Set.Id, "AAA", BarInterval.OneDay));
        Assert.Equal([T0, T0.AddDays(1)], aaa.Select(r => r.Time));
        TestBars.Identical(Row(0, 7).Values, aaa[0].Values, "AAA rewritten row");
        TestBars.Identical(Row(0, 3).Values, (await history.GetAsync(new FeatureHistoryQuery(Set.Id, "BBB", BarInterval.OneDay)))[0].Values, "BBB");
        TestBars.Identical(alphaRow.Values, (await history.GetAsync(new FeatureHistoryQuery(alpha.Id, "AAA", BarInterval.OneDay)))[0].Values, "alpha158");
        Assert.Equal(3, (await history.GetCoverageAsync()).Count);
    }

    [Fact]
    public async Task WriteMany_OneSeriesWithAWrongVectorLength_ThrowsAndWritesNothing()
    {
        var history = await CreateAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => history.WriteManyAsync([
            new FeatureSeriesRows(Set, "AAA", BarInterval.OneDay, [Row(0, 1)]),
            new FeatureSeriesRows(Set, "BBB", BarInterval.OneDay, [new FeatureRow(T0, [1.0])]),
        ]));
        Assert.Empty(await history.GetCoverageAsync());
    }

    [Fact]
    public async Task Write_WrongVectorLength_Throws()
    {
        var history = await CreateAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => history.WriteAsync(Set, "AAA", BarInterval.OneDay, [new FeatureRow(T0, [1.0, 2.0])]));
    }
}

public sealed class SqliteFeatureHistoryTests : FeatureHistoryContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("features-history-").FullName;

    protected override async Task<IFeatureHistory> CreateAsync()
    {
        var history = SqliteFeatureHistory.InDataDir(Path.Combine(_dir, Guid.NewGuid().ToString("N")));
        await history.InitializeAsync();
        return history;
    }

    [Fact]
    public async Task Reader_BeforeTheFileExists_IsEmpty()
    {
        var reader = new SqliteFeatureHistoryReader(Path.Combine(_dir, "missing", SqliteFeatureHistoryReader.FileName));
        Assert.Empty(await reader.GetCoverageAsync());
        Assert.Empty(await reader.GetAsync(new FeatureHistoryQuery("alpha158@1", "AAA", BarInterval.OneDay)));
    }

    [Fact]
    public async Task Initialize_NewFile_CreatedWithTheHistorysPageSize()
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N"), SqliteFeatureHistoryReader.FileName);
        await new SqliteFeatureHistory(path).InitializeAsync();
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA page_size";
        Assert.Equal((long)SqliteFeatureHistory.PageSize, (long)cmd.ExecuteScalar()!);
        Assert.NotEqual(Platform.BuildingBlocks.Embedded.SqliteFile.DefaultPageSize, SqliteFeatureHistory.PageSize);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }
}

public sealed class PostgresFeatureHistoryTests : FeatureHistoryContract
{
    protected override async Task<IFeatureHistory> CreateAsync()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("features");
        var history = new PostgresFeatureHistory(Npgsql.NpgsqlDataSource.Create(cs));
        await history.InitializeAsync();
        await history.InitializeAsync();
        return history;
    }

    [Fact]
    public async Task ReadOnlyReader_SeesRowsAndRefusesWrites()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("features_ro");
        var owner = new PostgresFeatureHistory(Npgsql.NpgsqlDataSource.Create(cs));
        await owner.InitializeAsync();
        await owner.WriteAsync(FeatureSets.IndicatorsV1, "AAA", BarInterval.OneDay,
            [new FeatureRow(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), new double[FeatureSets.IndicatorsV1.Count])]);
        var readOnly = PostgresFeatureHistoryReader.ReadOnly(cs);
        var reader = new PostgresFeatureHistoryReader(readOnly);
        Assert.Single(await reader.GetCoverageAsync());
        await using var cmd = readOnly.CreateCommand("DELETE FROM features");
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => cmd.ExecuteNonQueryAsync());
    }
}
