using Microsoft.Extensions.Configuration;

namespace Platform.ServiceDefaults;

/// <summary>
/// Test-only fault injection for the process-kill suites. A service names its points and reads the one to halt at from
/// a configuration key (<c>{Service}:Testing:HaltAt</c>); the code that reaches that point prints <c>HALTED {point}</c>
/// on standard output and its thread stops there for good, so the test can SIGKILL the process at a known place.
/// Unset (always, outside those suites) <see cref="Reach"/> does nothing.
/// </summary>
public sealed class HaltPoints
{
    private HaltPoints(string? point) => Point = point;

    /// <summary>The configured point, or null when none is.</summary>
    public string? Point { get; }

    /// <summary>Reads <paramref name="key"/>; a value that is not one of <paramref name="points"/> is a configuration error.</summary>
    public static HaltPoints From(IConfiguration configuration, string key, IReadOnlyCollection<string> points) =>
        configuration[key] switch
        {
            null or "" => new HaltPoints(null),
            var p when points.Contains(p) => new HaltPoints(p),
            var other => throw new InvalidOperationException($"{key} must be one of {string.Join(", ", points)}, not '{other}'."),
        };

    /// <summary>At <paramref name="name"/>, when it is the configured point: halts (see <see cref="Halt"/>).</summary>
    public void Reach(string name)
    {
        if (Point == name) Halt(name);
    }

    /// <summary>Says where it stopped and blocks this thread until the process is killed.</summary>
    public static void Halt(string point)
    {
        Console.Out.WriteLine($"HALTED {point}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}
