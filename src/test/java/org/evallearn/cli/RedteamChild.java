package org.evallearn.cli;

/** {@code evallearn} with the redteam stand-in judges, in a JVM of its own (the crash tests halt it mid-run). */
final class RedteamChild {
    private RedteamChild() {}

    public static void main(String[] args) {
        System.exit(Main.execute(RedteamTestKit.FACTORY, args));
    }
}
