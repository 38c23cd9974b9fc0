using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Platform.MarketData.Import;
using Platform.OfflineStore;
using Platform.OfflineStore.Postgres;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.Bench.MarketData;

/// <summary>Shared set-up: a generated Yahoo-style CSV, and a PostgreSQL (PLATFORM_BENCH_POSTGRES or a throwaway cluster).</summary>
internal static class MarketDataBench
{
    public static string WriteCsv(string dir, int bars)
    {
        var path = Path.Combine(dir, $"bars-{bars}.csv");
        using var w = new StreamWriter(path);
        w.WriteLine("Date,Time,Open,High,Low,Close,Volume");
        foreach (var b in SyntheticMarket.Stream(Options(bars)))
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{b.Bar.Time:yyyy-MM-dd},{b.Bar.Time:HH:mm:ss},{b.Bar.Open:F4},{b.Bar.High:F4},{b.Bar.Low:F4},{b.Bar.Close:F4},{b.Bar.Volume}"));
        return path;
    }

    /// <summary>The generated series (the same for the CSV and the reference's file).</summary>
    public static SyntheticMarketOptions Options(int bars) =>
        new() { Symbols = [new SyntheticSymbol("BENCH")], Interval = BarInterval.OneMinute, Bars = bars, Seed = 11, JumpProbability = 0 };

    public static async Task<(string ConnectionString, Action Stop)> PostgresAsync(string workDir)
    {
        if (Environment.GetEnvironmentVariable("PLATFORM_BENCH_POSTGRES") is { Length: > 0 } given) return (given, () => { });
        const string bin = "/usr/lib/postgresql/15/bin";
        var dir = Path.Combine(workDir, "pg");
        Directory.CreateDirectory(dir);
        Run("chown", "postgres:postgres", dir);
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        Run("runuser", "-u", "postgres", "--", $"{bin}/initdb", "-D", $"{dir}/data", "-U", "postgres", "-A", "trust", "--no-sync");
        Run("runuser", "-u", "postgres", "--", $"{bin}/pg_ctl", "-D", $"{dir}/data", "-w", "-l", $"{dir}/log", "-o", $"-p {port} -k {dir} -c listen_addresses=127.0.0.1", "start");
        await Task.CompletedTask;
        return ($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres",
            () => Run("runuser", "-u", "postgres", "--", $"{bin}/pg_ctl", "-D", $"{dir}/data", "-m", "fast", "stop"));
    }

    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {err.Result}");
        return output;
    }

    public static async Task<(ImportReport Report, TimeSpan Elapsed)> ImportAsync(IBarStore store, string csv)
    {
        await store.InitializeAsync();
        return await ImportAsAsync(store, csv, "BENCH");
    }

    /// <summary>Imports <paramref name="csv"/> as <paramref name="symbol"/>; the report's timings carry the split.</summary>
    public static async Task<(ImportReport Report, TimeSpan Elapsed)> ImportAsAsync(IBarStore store, string csv, string symbol)
    {
        var importer = new BarImporter(store, NullLogger<BarImporter>.Instance);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var report = await importer.ImportFileAsync(csv, new ImportOptions(symbol) { Interval = BarInterval.OneMinute });
        sw.Stop();
        LastCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (!report.Committed) throw new InvalidOperationException(string.Join("\n", report.Messages().Take(5)));
        return (report, sw.Elapsed);
    }

    /// <summary>CPU time of this process (all threads) during the last import: the client's share, whatever the load.</summary>
    public static TimeSpan LastCpu { get; private set; }

    /// <summary>The load average (1, 5, 15 minutes) as <c>uptime</c> prints it: the machine is shared, so every figure carries it.</summary>
    public static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>Where an import's time went, and how the store wrote it.</summary>
    public static string Split(ImportReport report, TimeSpan elapsed)
    {
        var t = report.Timings!;
        var n = Math.Max(1, report.Inserted + report.Updated + report.Unchanged);
        string Part(string name, TimeSpan span) =>
            string.Create(CultureInfo.InvariantCulture,
                $"{name} {span.TotalSeconds:F2} s ({span / elapsed:P0}, {n / Math.Max(span.TotalSeconds, 1e-9):N0} bars/s alone)");
        return $"{Part("parse", t.Parse)}, {Part("validate", t.Validate)}, {Part("write", t.Write)}; write path: {t.WritePath}; "
            + string.Create(CultureInfo.InvariantCulture, $"importer process CPU {LastCpu.TotalSeconds:F2} s");
    }
}

public sealed class ImportSqliteBenchmark : IBenchmark
{
    public string Name => "import-sqlite";
    public string Description =>
        "1,000,000 one-minute bars from a generated CSV into the SQLite offline store with the outbox entry (bars/s; parse, validate and write apart).";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var bars = context.Quick ? 100_000 : 1_000_000;
        var csv = MarketDataBench.WriteCsv(context.WorkDir, bars);
        context.Line($"load average before: {MarketDataBench.Load()}");
        var store = SqliteBarStore.InDataDir(context.WorkDir);
        var (report, elapsed) = await MarketDataBench.ImportAsync(store, csv);
        context.Line($"imported {report.Inserted} bars in {elapsed.TotalSeconds:F2} s (parse, validate, store, outbox)");
        context.Line(MarketDataBench.Split(report, elapsed));
        var (again, againElapsed) = await MarketDataBench.ImportAsync(store, csv);
        context.Line($"the same file again (every bar stored: merge path, {again.Unchanged} unchanged): {againElapsed.TotalSeconds:F2} s, "
            + $"{again.Unchanged / againElapsed.TotalSeconds:F0} bars/s; {MarketDataBench.Split(again, againElapsed)}");
        context.Line($"load average after: {MarketDataBench.Load()}");
        return $"{Name}: {report.Inserted / elapsed.TotalSeconds:F0} bars/s";
    }
}

public sealed class ImportPostgresBenchmark : IBenchmark
{
    public string Name => "import-postgres";
    public string Description =>
        "1,000,000 bars from a generated CSV into PostgreSQL with the outbox entry (bars/s), against psql's plain \\copy of the same rows in the same run.";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var bars = context.Quick ? 100_000 : 1_000_000;
        var csv = MarketDataBench.WriteCsv(context.WorkDir, bars);
        var (server, stop) = await MarketDataBench.PostgresAsync(context.WorkDir);
        // A database of its own, so a given server (PLATFORM_BENCH_POSTGRES) starts empty on every run.
        var database = $"bench_import_{Environment.ProcessId}";
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync(ct);
        }
        var cs = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
        try
        {
            context.Line($"load average before: {MarketDataBench.Load()}");
            await using var store = PostgresBarStore.Create(cs);
            await store.InitializeAsync(ct);

            // Reference: psql \copy of an equivalent file (the table's own column layout) into the same table, another symbol.
            var plain = Path.Combine(context.WorkDir, "plain.csv");
            await using (var w = new StreamWriter(plain))
                foreach (var b in SyntheticMarket.Stream(MarketDataBench.Options(bars)))
                    await w.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"@,1m,{b.Bar.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss}+00,{b.Bar.Open:F4},{b.Bar.High:F4},{b.Bar.Low:F4},{b.Bar.Close:F4},"
                        + $"{b.Bar.Volume},,"));
            var text = await File.ReadAllTextAsync(plain, ct);
            TimeSpan Copy(string symbol)
            {
                var file = Path.Combine(context.WorkDir, $"{symbol}.csv");
                File.WriteAllText(file, text.Replace("@,", symbol + ",", StringComparison.Ordinal));
                var b2 = new NpgsqlConnectionStringBuilder(cs);
                var sw = Stopwatch.StartNew();
                MarketDataBench.Run("psql", "-h", b2.Host!, "-p", b2.Port.ToString(CultureInfo.InvariantCulture), "-U", b2.Username!, "-d", b2.Database!,
                    "-v", "ON_ERROR_STOP=1", "-q",
                    "-c", $"\\copy bars (symbol, interval, time, open, high, low, close, volume, adj_close, vwap) FROM '{file}' WITH (FORMAT csv)");
                sw.Stop();
                File.Delete(file);
                context.Line($"psql \\copy ({symbol}): {bars} rows in {sw.Elapsed.TotalSeconds:F2} s");
                return sw.Elapsed;
            }

            // Importer and \copy take turns, twice, each into the same table under a new symbol, so neither gains from
            // going first (a cold cluster, a smaller table) and the ratio is of the two totals.
            var (first, firstElapsed) = await MarketDataBench.ImportAsAsync(store, csv, "BENCH");
            context.Line($"importer (BENCH): {first.Inserted} bars in {firstElapsed.TotalSeconds:F2} s; {MarketDataBench.Split(first, firstElapsed)}");
            var copy1 = Copy("COPYA");
            var (second, secondElapsed) = await MarketDataBench.ImportAsAsync(store, csv, "BENCH2");
            context.Line($"importer (BENCH2): {second.Inserted} bars in {secondElapsed.TotalSeconds:F2} s; {MarketDataBench.Split(second, secondElapsed)}");
            var copy2 = Copy("COPYB");

            var (again, againElapsed) = await MarketDataBench.ImportAsync(store, csv);
            context.Line($"the same file again (every bar stored: staged merge, {again.Unchanged} unchanged): {againElapsed.TotalSeconds:F2} s, "
                + $"{again.Unchanged / againElapsed.TotalSeconds:F0} bars/s; {MarketDataBench.Split(again, againElapsed)}");
            context.Line($"load average after: {MarketDataBench.Load()}");

            var ours = (first.Inserted + second.Inserted) / (firstElapsed + secondElapsed).TotalSeconds;
            var theirs = 2.0 * bars / (copy1 + copy2).TotalSeconds;
            return $"{Name}: {ours:F0} bars/s ({ours / theirs:F2}x vs psql \\copy at {theirs:F0} rows/s; two turns each; "
                + $"first turn {first.Inserted / firstElapsed.TotalSeconds:F0} vs {bars / copy1.TotalSeconds:F0}, "
                + $"second {second.Inserted / secondElapsed.TotalSeconds:F0} vs {bars / copy2.TotalSeconds:F0})";
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            try
            {
                await using var admin = new NpgsqlConnection(server);
                await admin.OpenAsync(CancellationToken.None);
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", admin);
                await drop.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (NpgsqlException ex)
            {
                context.Line($"could not drop {database}: {ex.Message}");
            }
            stop();
        }
    }
}

public sealed class BarsRangeQueryBenchmark : IBenchmark
{
    public string Name => "bars-range-query";
    public string Description => "Range queries over 10 years of daily bars of one symbol in the SQLite store: one random year per query (p50/p99).";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var store = SqliteBarStore.InDataDir(context.WorkDir);
        await store.InitializeAsync(ct);
        var bars = SyntheticMarket.Generate(new SyntheticMarketOptions { Symbols = [new SyntheticSymbol("TEN")], Bars = 2610, Seed = 5 });
        await store.WriteAsync(new BarWrite(bars), ct);
        var first = bars[0].Bar.Time;
        var rng = new Random(1);
        var recorder = new LatencyRecorder();
        for (var i = 0; i < (context.Quick ? 500 : 5000); i++)
        {
            var from = first.AddDays(rng.Next(0, 3300));
            var start = Stopwatch.GetTimestamp();
            var result = await store.GetBarsAsync(new BarQuery("TEN", BarInterval.OneDay, from, from.AddYears(1)), ct);
            if (i >= 50) recorder.AddTicks(Stopwatch.GetTimestamp() - start);
            if (result.Count == 0 && from < bars[^1].Bar.Time) throw new InvalidOperationException("empty range");
        }
        var full = Stopwatch.StartNew();
        var all = await store.GetBarsAsync(new BarQuery("TEN", BarInterval.OneDay), ct);
        context.Line($"whole history ({all.Count} bars): {full.Elapsed.TotalMilliseconds:F2} ms");
        return $"{Name}: one year of daily bars {recorder.Summary("ms")}";
    }
}
