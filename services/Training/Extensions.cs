namespace Platform.Training;

/// <summary>Wires the training service: its services, its subscriptions and its API.</summary>
public static class TrainingService
{
    public static WebApplicationBuilder AddTraining(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapTraining(this WebApplication app)
    {
        return app;
    }
}
