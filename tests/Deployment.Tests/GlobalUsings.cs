// Namespaces most files of this suite use.
global using Platform.Contracts;
