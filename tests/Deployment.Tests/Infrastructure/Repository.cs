using System.Reflection;

namespace Platform.Deployment.Tests.Infrastructure;

/// <summary>Paths in the repository under test (recorded at build time, as the output may live elsewhere).</summary>
public static class Repository
{
    public static string Root { get; } = Path.GetFullPath(
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RepositoryRoot").Value!);

    public static string TestProject => Path.Combine(Root, "tests", "Deployment.Tests");

    public static string Validator => Path.Combine(TestProject, "validate", "validate.mjs");

    public static string YamlLintConfig => Path.Combine(TestProject, ".yamllint");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>App id to service project folder, fixed by the architecture.</summary>
    public static readonly IReadOnlyDictionary<string, string> ProjectFolders = new Dictionary<string, string>
    {
        ["gateway"] = "Gateway",
        ["marketdata"] = "MarketData",
        ["features"] = "Features",
        ["training"] = "Training",
        ["serving"] = "Serving",
        ["backtesting"] = "Backtesting",
        ["monitoring"] = "Monitoring",
    };

    public static readonly string[] Environments = ["dev", "staging", "prod"];
}
