using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Platform.TestSupport;

namespace Platform.TestSupport;

/// <summary>
/// A PostgreSQL server for the tests: <c>PLATFORM_TEST_POSTGRES</c> when set (scripts/test.sh starts one), otherwise a
/// throwaway cluster started here as the postgres user (initdb/pg_ctl refuse to run as root) and stopped at exit.
/// Database names start with the creating process's id (<c>t{pid}_</c>). A test host cannot drop its databases reliably
/// at exit, so on a long-lived local server each run drops those left by test processes that no longer exist.
/// </summary>
public static class PostgresCluster
{
    private const string PgBin = "/usr/lib/postgresql/15/bin";
    private static readonly Lazy<Task<string>> Server = new(StartAsync);

    /// <summary>Creates a fresh database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var admin = await Server.Value;
        var name = $"t{Environment.ProcessId}_{prefix}_{Guid.NewGuid():N}";
        name = name[..Math.Min(name.Length, 63)].ToLowerInvariant();
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
        if (Environment.GetEnvironmentVariable("PLATFORM_TEST_POSTGRES") is { Length: > 0 } given)
        {
            await DropOrphanedDatabasesAsync(given);
            return given;
        }
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

    /// <summary>
    /// Drops the databases of earlier test processes on this machine that have exited (their <c>t{pid}_</c> names a
    /// process that is gone). Only for a server on loopback, where a process id means a process of this machine.
    /// </summary>
    private static async Task DropOrphanedDatabasesAsync(string admin)
    {
        var host = new NpgsqlConnectionStringBuilder(admin).Host;
        if (host is not ("127.0.0.1" or "localhost" or "::1")) return;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        var orphans = new List<string>();
        await using (var list = new NpgsqlCommand(@"SELECT datname FROM pg_database WHERE datname ~ '^t[0-9]+_'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var name = reader.GetString(0);
                if (int.TryParse(name.AsSpan(1, name.IndexOf('_') - 1), System.Globalization.CultureInfo.InvariantCulture, out var pid)
                    && !IsRunning(pid))
                    orphans.Add(name);
            }
        }
        foreach (var name in orphans)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            try
            {
                await drop.ExecuteNonQueryAsync();
            }
            catch (PostgresException ex)
            {
                Console.Error.WriteLine($"Could not drop the orphaned test database {name}: {ex.MessageText}");
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
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
