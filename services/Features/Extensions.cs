namespace Platform.Features;

/// <summary>Wires the features service: its services, its subscriptions and its API.</summary>
public static class FeaturesService
{
    public static WebApplicationBuilder AddFeatures(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapFeatures(this WebApplication app)
    {
        return app;
    }
}
