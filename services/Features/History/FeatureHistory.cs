using System.Runtime.InteropServices;
using Platform.Features.History.Postgres;
using Platform.Features.History.Sqlite;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.History;

/// <summary>One stored feature vector: the bar's open time and the values in the set's feature order (NaN where undefined).</summary>
public sealed record FeatureRow(DateTimeOffset Time, double[] Values);

/// <summary>
/// A range of one feature series. <see cref="From"/> is inclusive, <see cref="To"/> exclusive (as bar queries); either
/// may be open. <see cref="Limit"/> caps the rows returned, oldest first.
/// </summary>
public sealed record FeatureHistoryQuery(string Set, string Symbol, BarInterval Interval, DateTimeOffset? From = null, DateTimeOffset? To = null, int? Limit = null);

/// <summary>What the history holds for one (set, symbol, interval).</summary>
public sealed record FeatureSeriesCoverage(string Set, string Symbol, string Interval, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>
/// The read side of the feature history (the offline store's <c>features</c> table): training, backtesting and
/// monitoring read it; only the features service writes it. Rows come back in time order.
/// </summary>
public interface IFeatureHistoryReader
{
    Task<IReadOnlyList<FeatureRow>> GetAsync(FeatureHistoryQuery query, CancellationToken ct = default);

    /// <summary>True when a row exists at exactly <paramref name="time"/>.</summary>
    Task<bool> ContainsAsync(string set, string symbol, BarInterval interval, DateTimeOffset time, CancellationToken ct = default);

    /// <summary>Every stored series, or those of <paramref name="symbol"/>, ordered by set, symbol, interval.</summary>
    Task<IReadOnlyList<FeatureSeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default);
}

/// <summary>The writable feature history, owned by the features service.</summary>
public interface IFeatureHistory : IFeatureHistoryReader
{
    /// <summary>Creates the schema; idempotent.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>
    /// Upserts <paramref name="rows"/> of one series in one transaction: a row at an existing time replaces it (a recompute),
    /// so writing the same rows again changes nothing. Also records the set's hash and feature names.
    /// </summary>
    Task WriteAsync(FeatureSet set, string symbol, BarInterval interval, IReadOnlyList<FeatureRow> rows, CancellationToken ct = default);

    /// <summary>
    /// Upserts the rows of several series in one transaction, each as <see cref="WriteAsync"/> would: all or none. The
    /// series must be distinct (set, symbol, interval) and each one's rows distinct in time.
    /// </summary>
    Task WriteManyAsync(IReadOnlyList<FeatureSeriesRows> series, CancellationToken ct = default);
}

/// <summary>Rows of one feature series, to be written with others in one transaction.</summary>
public sealed record FeatureSeriesRows(FeatureSet Set, string Symbol, BarInterval Interval, IReadOnlyList<FeatureRow> Rows)
{
    /// <summary>Refuses a vector whose length is not the set's.</summary>
    public void Validate()
    {
        foreach (var row in Rows)
            if (row.Values.Length != Set.Count)
                throw new ArgumentException($"A {Set.Id} vector has {Set.Count} values, not {row.Values.Length} (at {row.Time:o}).", nameof(Rows));
    }
}

/// <summary>
/// Chooses the feature history's adapter like the bar store: <c>ConnectionStrings:Offline</c> selects PostgreSQL (table
/// <c>features</c> next to <c>bars</c>); without it the embedded SQLite file <c>features.db</c> in the data directory.
/// </summary>
public static class FeatureHistoryStores
{
    /// <summary>The writable history (the features service only).</summary>
    public static IFeatureHistory CreateStore(IConfiguration configuration, string dataDir) =>
        configuration.GetConnectionString(OfflineStoreExtensions.ConnectionStringName) is { Length: > 0 } cs
            ? new PostgresFeatureHistory(Npgsql.NpgsqlDataSource.Create(cs))
            : SqliteFeatureHistory.InDataDir(dataDir);

    /// <summary>A read-only accessor for other services (connection string <c>OfflineRead</c>, falling back to <c>Offline</c>).</summary>
    public static IFeatureHistoryReader CreateReader(IConfiguration configuration, string dataDir)
    {
        var cs = configuration.GetConnectionString(OfflineStoreExtensions.ReadConnectionStringName) is { Length: > 0 } read
            ? read
            : configuration.GetConnectionString(OfflineStoreExtensions.ConnectionStringName);
        return cs is { Length: > 0 }
            ? new PostgresFeatureHistoryReader(Postgres.PostgresFeatureHistoryReader.ReadOnly(cs))
            : new SqliteFeatureHistoryReader(Path.Combine(dataDir, SqliteFeatureHistoryReader.FileName));
    }
}

/// <summary>Vectors as BLOBs: the doubles' IEEE 754 bytes, little-endian, in feature order (NaN kept).</summary>
internal static class FeatureBlob
{
    /// <summary>The blob of <paramref name="values"/>: their own memory, read as bytes.</summary>
    public static ReadOnlySpan<byte> Bytes(double[] values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The feature blob format is little-endian.");
        return MemoryMarshal.AsBytes(values.AsSpan());
    }

    public static double[] Decode(byte[] blob)
    {
        if (blob.Length % sizeof(double) != 0) throw new InvalidDataException($"A feature vector blob of {blob.Length} bytes is not a whole number of doubles.");
        return MemoryMarshal.Cast<byte, double>(blob).ToArray();
    }
}
