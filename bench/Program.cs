using System.Reflection;
using Platform.Bench;

// Usage: Platform.Bench --list | NAME [--quick] [--shared DIR] [options of the benchmark]
var benchmarks = typeof(IBenchmark).Assembly.GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

// The gateway benchmark's plain YARP proxy runs in a process of its own, as the gateway does.
if (args is [Platform.Bench.Gateway.BenchApps.PlainProxyVerb, var backendUrl, var hop])
    return await Platform.Bench.Gateway.BenchApps.ServePlainProxyAsync(backendUrl, hop == "h2c");

if (args.Length == 0 || args[0] is "--list" or "-l")
{
    foreach (var b in benchmarks) Console.WriteLine($"{b.Name,-24} {b.Description}");
    return args.Length == 0 ? 2 : 0;
}

var bench = benchmarks.FirstOrDefault(b => b.Name == args[0]);
if (bench is null)
{
    Console.Error.WriteLine($"Unknown benchmark '{args[0]}'. Known: {string.Join(", ", benchmarks.Select(b => b.Name))}.");
    return 2;
}

var quick = args.Contains("--quick");
var sharedIndex = Array.IndexOf(args, "--shared");
var shared = sharedIndex >= 0 && sharedIndex + 1 < args.Length
    ? args[sharedIndex + 1]
    : FindShared();
var work = Path.Combine(Path.GetTempPath(), "platform-bench-" + bench.Name + "-" + Environment.ProcessId);
Directory.CreateDirectory(work);
try
{
    Console.WriteLine($"# {bench.Name}: {bench.Description}");
    Console.WriteLine($"# machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
    var summary = await bench.RunAsync(new BenchContext(work, Console.Out, shared, quick, args[1..]), CancellationToken.None);
    Console.WriteLine(summary);
    return 0;
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}

static string? FindShared()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "..", "shared", "data");
        if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")) && Directory.Exists(candidate))
            return Path.GetFullPath(candidate);
    }
    return null;
}
