namespace Platform.Monitoring.Tests;

/// <summary>What the service checks before it consumes anything (<c>MonitoringStartup</c>).</summary>
public sealed class MonitoringStartupTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public async Task Start_DriftEvaluationBoundBelowOne_RefusesNamingTheKey(string bound)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            MonitoringHost.StartAsync(new Dictionary<string, string?> { ["Monitoring:Drift:MaxEvaluationsPerJoin"] = bound }));

        Assert.Contains("Monitoring:Drift:MaxEvaluationsPerJoin", error.Message);
    }
}
