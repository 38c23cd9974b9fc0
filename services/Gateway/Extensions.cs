namespace Platform.Gateway;

/// <summary>
/// Wires the gateway: YARP routes from <c>gateway.routes.json</c> (overridable by configuration, e.g.
/// <c>ReverseProxy__Clusters__marketdata__Destinations__primary__Address</c> in Kubernetes). It is the only
/// listener users reach; the services behind it listen on loopback (embedded) or behind a NetworkPolicy.
/// </summary>
public static class GatewayService
{
    public const string RoutesFile = "gateway.routes.json";

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        // Loaded from the binaries' folder so the embedded host (whose content root is its own) finds it too.
        // Sources added later (environment, command line) still override it.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = RoutesFile, Optional = false, ReloadOnChange = false,
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
        });
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        app.MapReverseProxy();
        return app;
    }
}
