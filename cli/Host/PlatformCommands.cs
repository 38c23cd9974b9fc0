using System.CommandLine;

namespace Platform.Host;

/// <summary>A verb of <c>./platform</c>. Implementations are discovered by reflection: adding a verb is adding a class.</summary>
public interface IPlatformCommand
{
    Command Create();
}

public static class PlatformCommands
{
    public static IEnumerable<Command> All() =>
        typeof(IPlatformCommand).Assembly.GetTypes()
            .Where(t => typeof(IPlatformCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => ((IPlatformCommand)Activator.CreateInstance(t)!).Create())
            .OrderBy(c => c.Name, StringComparer.Ordinal);

    /// <summary><c>--data-dir</c>, accepted by every verb: where the embedded runtime keeps its SQLite files.</summary>
    public static Option<DirectoryInfo> DataDirOption() => new("--data-dir")
    {
        Description = "Data directory of the embedded runtime (default: .data, or PLATFORM_DATA_DIR).",
        DefaultValueFactory = _ => new DirectoryInfo(Environment.GetEnvironmentVariable("PLATFORM_DATA_DIR") is { Length: > 0 } d ? d : ".data"),
    };
}
