using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Platform.TestSupport;

namespace Platform.TestSupport;

/// <summary>
/// A PostgreSQL server for the tests: <c>PLATFORM_TEST_POSTGRES</c> when set (scripts/test.sh starts one), otherwise a
/// throwaway cluster started here as the postgres user (initdb/pg_ctl refuse to run as root) and stopped at exit.
/// </summary>
public static class PostgresCluster
{
    private const string PgBin = "/usr/lib/postgresql/15/bin";
    private static readonly Lazy<Task<string>> Server = new(StartAsync);

    /// <summary>Creates a fresh database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var admin = await Server.Value;
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("PLATFORM_TEST_POSTGRES") is { Length: > 0 } given) return given;
        if (!File.Exists(Path.Combine(PgBin, "initdb")))
            throw new InvalidOperationException($"PostgreSQL is needed: set PLATFORM_TEST_POSTGRES or install PostgreSQL 15 ({PgBin} is missing).");
        var dir = Directory.CreateTempSubdirectory("platform-pg-").FullName;
        Run("chown", "postgres:postgres", dir);
        var port = FreePort();
        Run("runuser", "-u", "postgres", "--", Path.Combine(PgBin, "initdb"), "-D", Path.Combine(dir, "data"), "-U", "postgres", "-A", "trust", "--no-sync");
        Run("runuser", "-u", "postgres", "--", Path.Combine(PgBin, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-w", "-l", Path.Combine(dir, "log"),
            "-o", $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Run("runuser", "-u", "postgres", "--", Path.Combine(PgBin, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-m", "immediate", "stop");
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException)
            {
                Console.Error.WriteLine($"Could not stop the test PostgreSQL in {dir}: {ex.Message}");
            }
        };
        await Task.CompletedTask;
        return $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=true";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
    }
}
