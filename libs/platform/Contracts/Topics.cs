namespace Platform.Contracts;

/// <summary>Pub/sub topic names. Each event record also exposes its own topic as a constant.</summary>
public static class Topics
{
    public const string MarketBars = "market-bars";
    public const string MarketFeatures = "market-features";
    public const string ModelRegistered = "model-registered";
    public const string ModelPromoted = "model-promoted";
    public const string Predictions = "predictions";
    public const string DriftDetected = "drift-detected";
    public const string WorkflowEvents = "workflow-events";

    /// <summary>The dead-letter topic default: <c>{topic}-deadletter</c>.</summary>
    public static string DeadLetter(string topic) => topic + "-deadletter";
}
