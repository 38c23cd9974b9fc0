using Microsoft.AspNetCore.Builder;
using Platform.Contracts;

namespace Platform.ServiceDefaults;

/// <summary>
/// One deployable service: its app id and port, the services it adds and the endpoints it maps. Its own
/// <c>Program</c>, the embedded host and the test host all compose the service through <see cref="Build"/>, so the
/// three cannot drift apart.
/// </summary>
public sealed record ServiceModule(AppInfo App, Action<WebApplicationBuilder> AddServices, Action<WebApplication> MapEndpoints)
{
    /// <summary>
    /// Service defaults, then this service's parts; the builder's configuration and URLs are the caller's.
    /// <paramref name="configure"/> runs last, before the app is built (test hosts decorate ports there).
    /// </summary>
    public WebApplication Build(WebApplicationBuilder builder, Action<WebApplicationBuilder>? configure = null)
    {
        builder.AddServiceDefaults(App);
        AddServices(builder);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapServiceDefaults();
        MapEndpoints(app);
        return app;
    }

    /// <summary>The service as its own process (what its container and <c>dapr run</c> start).</summary>
    public Task RunAsync(string[] args) => Build(CreateBuilder(args)).RunAsync();

    /// <summary>
    /// The builder of a service process. Its content root is the binaries' folder, as in the embedded and test hosts, not
    /// the working directory: the host watches its content root's whole tree for configuration changes, so a SQLite data
    /// directory below the working directory would wake that watcher on every write.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
}
