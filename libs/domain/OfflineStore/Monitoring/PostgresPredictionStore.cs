using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Platform.OfflineStore.Monitoring;

/// <summary>
/// The monitoring tables on the PostgreSQL offline store, next to the bar tables. Its migrations are recorded in
/// <c>monitoring_schema_migrations</c>, apart from marketdata's, since each service migrates its own tables.
/// </summary>
public sealed class PostgresPredictionStore(NpgsqlDataSource dataSource) : IPredictionStore, IAsyncDisposable
{
    private const long MigrationLock = 0x0FF1_1E5A_0010;


    public static PostgresPredictionStore Create(string connectionString) => new(NpgsqlDataSource.Create(connectionString));

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await Exec(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock})", ct);
        await Exec(connection, tx,
            "CREATE TABLE IF NOT EXISTS monitoring_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", ct);
        await using var current = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM monitoring_schema_migrations", connection, tx);
        var applied = (int)(await current.ExecuteScalarAsync(ct))!;
        for (var version = applied + 1; version <= PostgresPredictionSql.Migrations.Length; version++)
        {
            await Exec(connection, tx, PostgresPredictionSql.Migrations[version - 1], ct);
            await Exec(connection, tx, $"INSERT INTO monitoring_schema_migrations(version) VALUES ({version})", ct);
        }
        await tx.CommitAsync(ct);
    }

    private static async Task Exec(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static NpgsqlParameter P(object? value, NpgsqlDbType type) => new() { NpgsqlDbType = type, Value = value ?? DBNull.Value };
    private static NpgsqlParameter Time(DateTimeOffset? t) => P(t?.UtcDateTime, NpgsqlDbType.TimestampTz);

    public async Task<int> AddPredictionsAsync(IReadOnlyList<PredictionRecord> predictions, CancellationToken ct = default)
    {
        if (predictions.Count == 0) return 0;
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.InsertPredictions);
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.RequestId).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Model).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Version).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Symbol).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Interval).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Time.UtcDateTime).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Horizon).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Target).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.Value).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = predictions.Select(p => p.ReceivedAt.UtcDateTime).ToArray() });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static PredictionRecord ReadPrediction(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetFieldValue<DateTimeOffset>(5), r.GetInt32(6),
        r.GetString(7), r.GetDouble(8), r.GetFieldValue<DateTimeOffset>(9));

    public async Task<IReadOnlyList<PredictionRecord>> GetPendingAsync(string symbol, string interval, DateTimeOffset before, int limit,
        (DateTimeOffset Time, string RequestId)? after = null, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.Pending);
        cmd.Parameters.Add(P(symbol, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(interval, NpgsqlDbType.Text));
        cmd.Parameters.Add(Time(before));
        cmd.Parameters.Add(P(limit, NpgsqlDbType.Integer));
        cmd.Parameters.Add(Time(after?.Time));
        cmd.Parameters.Add(P(after?.RequestId, NpgsqlDbType.Text));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<PredictionRecord>();
        while (await reader.ReadAsync(ct)) list.Add(ReadPrediction(reader));
        return list;
    }

    public async Task<int> AddOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes, CancellationToken ct = default)
    {
        if (outcomes.Count == 0) return 0;
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.InsertOutcomes);
        cmd.Parameters.Add(new NpgsqlParameter { Value = outcomes.Select(o => o.RequestId).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = outcomes.Select(o => o.Realised).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = outcomes.Select(o => o.Last).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = outcomes.Select(o => o.Trailing).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = outcomes.Select(o => o.KnownAt.UtcDateTime).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = outcomes.Select(o => o.JoinedAt.UtcDateTime).ToArray() });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<PredictionWithOutcome>> QueryAsync(PredictionQuery query, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(query.JoinedOnly ? PostgresPredictionSql.QueryJoined : PostgresPredictionSql.Query);
        cmd.Parameters.Add(P(query.Model, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(query.Version, NpgsqlDbType.Integer));
        cmd.Parameters.Add(Time(query.From));
        cmd.Parameters.Add(Time(query.To));
        cmd.Parameters.Add(Time(query.Before?.Time));
        cmd.Parameters.Add(P(query.Before?.RequestId, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(Math.Max(0, query.Limit), NpgsqlDbType.Integer));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<PredictionWithOutcome>();
        while (await reader.ReadAsync(ct))
        {
            var p = ReadPrediction(reader);
            var o = reader.IsDBNull(10) ? null : new OutcomeRecord(p.RequestId, reader.GetDouble(10), reader.GetDouble(11), reader.GetDouble(12),
                reader.GetFieldValue<DateTimeOffset>(13), reader.GetFieldValue<DateTimeOffset>(14));
            list.Add(new PredictionWithOutcome(p, o));
        }
        return list;
    }

    public async Task<(long Predictions, long Outcomes)> CountAsync(string? model = null, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(model is null ? PostgresPredictionSql.CountAll : PostgresPredictionSql.CountOfModel);
        if (model is not null) cmd.Parameters.Add(P(model, NpgsqlDbType.Text));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task RecordRejectedAsync(RejectedPrediction rejected, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.InsertRejected);
        cmd.Parameters.Add(P(rejected.EventId, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(rejected.Reason, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(rejected.Payload, NpgsqlDbType.Text));
        cmd.Parameters.Add(Time(rejected.RejectedAt));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<RejectedPrediction>> GetRejectedAsync(int limit, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.Rejected);
        cmd.Parameters.Add(P(limit, NpgsqlDbType.Integer));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<RejectedPrediction>();
        while (await reader.ReadAsync(ct))
            list.Add(new(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        return list;
    }

    public async Task<bool> AddDriftAsync(DriftRecord drift, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.InsertDrift);
        cmd.Parameters.Add(P(drift.EventId, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(drift.Model, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(drift.Version, NpgsqlDbType.Integer));
        cmd.Parameters.Add(Time(drift.WindowStart));
        cmd.Parameters.Add(Time(drift.WindowEnd));
        cmd.Parameters.Add(P(drift.WindowSize, NpgsqlDbType.Integer));
        cmd.Parameters.Add(P(JsonSerializer.Serialize(drift.Evidence, MonitoringJson.Options), NpgsqlDbType.Text));
        cmd.Parameters.Add(Time(drift.DetectedAt));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<IReadOnlyList<DriftRecord>> GetDriftAsync(string model, int limit, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(PostgresPredictionSql.Drift);
        cmd.Parameters.Add(P(model, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(limit, NpgsqlDbType.Integer));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<DriftRecord>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new DriftRecord(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetInt32(5), MonitoringJson.Evidence(reader.GetString(6)),
                reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return list;
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
