namespace Platform.Serving;

/// <summary>Wires the serving service: its services, its subscriptions and its API.</summary>
public static class ServingService
{
    public static WebApplicationBuilder AddServing(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapServing(this WebApplication app)
    {
        return app;
    }
}
