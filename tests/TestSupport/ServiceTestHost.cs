using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.ServiceDefaults;

namespace Platform.TestSupport;

/// <summary>What a test changes about a service it hosts.</summary>
public sealed record ServiceTestOptions
{
    /// <summary>The data directory; a fresh temporary one (deleted on dispose) when null.</summary>
    public string? DataDir { get; init; }

    /// <summary>Configuration applied after the test defaults.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Last changes to the builder, after the service's own (extra handlers, decorated ports).</summary>
    public Action<WebApplicationBuilder>? Configure { get; init; }

    /// <summary>Runs on the built app before it starts (seeding a store as another service would have).</summary>
    public Func<WebApplication, Task>? BeforeStart { get; init; }
}

/// <summary>
/// One service as it runs, composed by its own <see cref="ServiceModule"/>: real Kestrel on 127.0.0.1:0, the embedded
/// runtime on a data directory, fast polling. It can be stopped and started again on the same data directory.
/// </summary>
public sealed class ServiceTestHost : IAsyncDisposable
{
    private readonly ServiceModule _module;
    private readonly ServiceTestOptions _options;
    private readonly bool _ownsDataDir;
    private WebApplication? _app;

    private ServiceTestHost(ServiceModule module, ServiceTestOptions options)
    {
        _module = module;
        _options = options;
        _ownsDataDir = options.DataDir is null;
        DataDir = options.DataDir ?? Directory.CreateTempSubdirectory(module.App.AppId + "-tests-").FullName;
    }

    public string DataDir { get; }
    public string Url { get; private set; } = "";

    /// <summary>A client whose base address is the service (recreated on each start).</summary>
    public HttpClient Http { get; private set; } = new();

    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("The service is not running.")).Services;

    public static async Task<ServiceTestHost> StartAsync(ServiceModule module, ServiceTestOptions? options = null)
    {
        var host = new ServiceTestHost(module, options ?? new ServiceTestOptions());
        try
        {
            await host.RestartAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>The settings every hosted service gets before the test's own.</summary>
    public static Dictionary<string, string?> Defaults(string dataDir) => new()
    {
        ["Runtime:Mode"] = "embedded",
        ["DataDir"] = dataDir,
        ["Logging:Format"] = "text",
        ["Logging:LogLevel:Default"] = "Warning",
        ["PubSub:Embedded:PollInterval"] = "00:00:00.020",
        ["PubSub:InitialBackoff"] = "00:00:00.010",
    };

    /// <summary>Starts the service (again, on the same data directory when it ran before).</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "Platform." + _module.App.AppId,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Configuration.AddInMemoryCollection(Defaults(DataDir));
        builder.Configuration.AddInMemoryCollection(_options.Settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = _module.Build(builder, _options.Configure);
        if (_options.BeforeStart is not null) await _options.BeforeStart(app);
        await app.StartAsync();
        _app = app;
        Url = app.Address();
        Http.Dispose();
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task StopAsync()
    {
        if (_app is null) return;
        var app = _app;
        _app = null;
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Http.Dispose();
        if (!_ownsDataDir) return;
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
