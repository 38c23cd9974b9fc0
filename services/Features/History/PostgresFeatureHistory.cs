using Npgsql;
using NpgsqlTypes;
using Platform.OfflineStore.Postgres;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.History.Postgres;

/// <summary>
/// Read access to the feature history on PostgreSQL. Other services connect with a read-only role or, at least, with
/// <c>default_transaction_read_only</c> on (see <see cref="ReadOnly"/>), so only the features service writes it.
/// </summary>
public class PostgresFeatureHistoryReader(NpgsqlDataSource dataSource) : IFeatureHistoryReader, IAsyncDisposable
{
    protected NpgsqlDataSource DataSource { get; } = dataSource;

    /// <summary>A data source whose sessions refuse writes (the same rule as the bar tables' readers).</summary>
    public static NpgsqlDataSource ReadOnly(string connectionString) => PostgresBarReader.ReadOnly(connectionString);

    public async Task<IReadOnlyList<FeatureRow>> GetAsync(FeatureHistoryQuery query, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("""
            SELECT time, feature_values FROM features
            WHERE feature_set = $1 AND symbol = $2 AND interval = $3
              AND ($4::timestamptz IS NULL OR time >= $4) AND ($5::timestamptz IS NULL OR time < $5)
            ORDER BY time LIMIT $6
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Set });
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Symbol });
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Interval.Name });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = query.From is { } f ? f.UtcDateTime : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = query.To is { } t ? t.UtcDateTime : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = query.Limit is { } l ? Math.Max(0, l) : DBNull.Value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<FeatureRow>();
        while (await reader.ReadAsync(ct))
            rows.Add(new FeatureRow(reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<double[]>(1)));
        return rows;
    }

    public async Task<bool> ContainsAsync(string set, string symbol, BarInterval interval, DateTimeOffset time, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("SELECT 1 FROM features WHERE feature_set = $1 AND symbol = $2 AND interval = $3 AND time = $4");
        cmd.Parameters.Add(new NpgsqlParameter { Value = set });
        cmd.Parameters.Add(new NpgsqlParameter { Value = symbol });
        cmd.Parameters.Add(new NpgsqlParameter { Value = interval.Name });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = time.UtcDateTime });
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    public async Task<IReadOnlyList<FeatureSeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("""
            SELECT feature_set, symbol, interval, min(time), max(time), count(*) FROM features
            WHERE $1::text IS NULL OR symbol = $1 GROUP BY feature_set, symbol, interval ORDER BY feature_set, symbol, interval
            """);
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)symbol ?? DBNull.Value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<FeatureSeriesCoverage>();
        while (await reader.ReadAsync(ct))
            list.Add(new FeatureSeriesCoverage(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetInt64(5)));
        return list;
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return DataSource.DisposeAsync();
    }
}

/// <summary>
/// The production feature history: table <c>features</c> (vectors as <c>double precision[]</c>, NaN kept) next to
/// marketdata's <c>bars</c>. A write copies the rows (binary COPY) into a temporary table and upserts them with one
/// <c>INSERT ... ON CONFLICT DO UPDATE</c>, in one transaction.
/// </summary>
public sealed class PostgresFeatureHistory(NpgsqlDataSource dataSource) : PostgresFeatureHistoryReader(dataSource), IFeatureHistory
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS feature_sets (
            feature_set text   NOT NULL PRIMARY KEY,
            hash        text   NOT NULL,
            names       text[] NOT NULL
        );
        CREATE TABLE IF NOT EXISTS features (
            feature_set    text               NOT NULL,
            symbol         text               NOT NULL,
            interval       text               NOT NULL,
            time           timestamptz        NOT NULL,
            feature_values double precision[] NOT NULL,
            PRIMARY KEY (feature_set, symbol, interval, time)
        );
        """;

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Several replicas may start together: serialise the DDL.
        await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7315046421)", connection, tx))
            await lockCmd.ExecuteNonQueryAsync(ct);
        await using (var create = new NpgsqlCommand(Schema, connection, tx))
            await create.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    public Task WriteAsync(FeatureSet set, string symbol, BarInterval interval, IReadOnlyList<FeatureRow> rows, CancellationToken ct = default) =>
        WriteManyAsync([new FeatureSeriesRows(set, symbol, interval, rows)], ct);

    public async Task WriteManyAsync(IReadOnlyList<FeatureSeriesRows> series, CancellationToken ct = default)
    {
        foreach (var s in series) s.Validate();
        if (series.All(s => s.Rows.Count == 0)) return;

        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var set in series.Where(s => s.Rows.Count > 0).Select(s => s.Set).DistinctBy(s => s.Id))
        {
            await using var meta = new NpgsqlCommand("""
                INSERT INTO feature_sets(feature_set, hash, names) VALUES ($1, $2, $3)
                ON CONFLICT (feature_set) DO UPDATE SET hash = EXCLUDED.hash, names = EXCLUDED.names WHERE feature_sets.hash <> EXCLUDED.hash
                """, connection, tx);
            meta.Parameters.Add(new NpgsqlParameter { Value = set.Id });
            meta.Parameters.Add(new NpgsqlParameter { Value = set.Hash });
            meta.Parameters.Add(new NpgsqlParameter { Value = set.Features.ToArray() });
            await meta.ExecuteNonQueryAsync(ct);
        }
        await using (var stage = new NpgsqlCommand("""
            CREATE TEMP TABLE features_stage (
                feature_set text NOT NULL, symbol text NOT NULL, interval text NOT NULL,
                time timestamptz NOT NULL, feature_values double precision[] NOT NULL) ON COMMIT DROP
            """, connection, tx))
            await stage.ExecuteNonQueryAsync(ct);
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY features_stage (feature_set, symbol, interval, time, feature_values) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var s in series)
                foreach (var row in s.Rows)
                {
                    await copy.StartRowAsync(ct);
                    await copy.WriteAsync(s.Set.Id, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(s.Symbol, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(s.Interval.Name, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(row.Time.UtcDateTime, NpgsqlDbType.TimestampTz, ct);
                    await copy.WriteAsync(row.Values, NpgsqlDbType.Array | NpgsqlDbType.Double, ct);
                }
            await copy.CompleteAsync(ct);
        }
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO features(feature_set, symbol, interval, time, feature_values)
            SELECT feature_set, symbol, interval, time, feature_values FROM features_stage
            ON CONFLICT (feature_set, symbol, interval, time) DO UPDATE SET feature_values = EXCLUDED.feature_values
            WHERE features.feature_values IS DISTINCT FROM EXCLUDED.feature_values
            """, connection, tx))
            await upsert.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }
}
