using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Monitoring;

/// <summary>
/// monitoring: live quality and drift of the served models.
/// <list type="bullet">
/// <item>API: <c>/v1/monitoring</c>.</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.Monitoring, b => b.AddMonitoring(), a => a.MapMonitoring());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
