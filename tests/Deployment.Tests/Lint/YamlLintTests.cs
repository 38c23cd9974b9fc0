using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Lint;

public sealed class YamlLintTests
{
    private static readonly string[] Targets = ["components", "gitops", "dapr.yaml", "tye.yaml", "tests/Deployment.Tests/.yamllint"];

    [Fact]
    public void YamlLint_AllDeploymentYaml_Passes()
    {
        var result = YamlLint(Repository.Root);

        Assert.True(result.ExitCode == 0, result.Describe());
    }

    [Theory]
    [InlineData("gitops/base/features/service.yaml", "    - name: http\n      port: 5102", "    - name: http\n       port: 5102", "syntax error")]
    [InlineData("dapr.yaml", "version: 1", "version: 1   ", "trailing-spaces")]
    [InlineData("components/pubsub.yaml", "kind: Component", "kind: Component\nkind: Component", "key-duplicates")]
    public void YamlLint_FileWithDefect_Fails(string file, string from, string to, string rule)
    {
        using var copy = TempCopy.Of([file, "tests/Deployment.Tests/.yamllint"]);
        copy.Replace(file, from, to);

        var result = YamlLint(copy.Root, file);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(file, result.Output);
        Assert.Contains(rule, result.Output);
    }

    private static ToolResult YamlLint(string root, params string[] paths) =>
        Tool.Run(
            "yamllint",
            ["--format", "parsable", "-c", Path.Combine(root, "tests/Deployment.Tests/.yamllint"), .. paths.Length > 0 ? paths : Targets],
            root);
}
