package org.evallearn.cli;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.evallearn.data.Coco2017;
import org.evallearn.data.Concept;
import org.evallearn.data.I2pCsv;
import org.evallearn.data.TifaQuestions;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.StoreSettings;
import org.evallearn.unsafebench.HubData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "data", mixinStandardHelpOptions = true, description = "Fetch datasets into the cache.",
        subcommands = {DataCommand.Pull.class})
final class DataCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = {"Download a dataset of the manifest (i2p: AIML-TUDA/i2p's i2p_benchmark.csv), checksum verified.",
                    "unsafebench: yiting/UnsafeBench's train and test Parquet shards (gated: HF_TOKEN), exported as images + metadata.jsonl;",
                    "unsafebench-<SMID|NSFWDataset|MultiHeaded_Dataset|Violence_Dataset|Self-harm_Dataset>: UnsafeBench's external sets;",
                    "tifa: eval-learn's TIFA questions (Unlearningltd/datasets tifa/tifa_dataset.csv);",
                    "coco2017: the first --limit rows of phiyodr/coco2017's train split and their images (eval-learn's fid)."})
    static final class Pull implements Callable<Integer> {
        @Parameters(index = "0", description = "dataset id, e.g. i2p")
        String id;

        @Option(names = "--from", description = "use this local copy instead of downloading: the CSV (checked against the manifest's sha256"
                + " when it has one; for tifa, checked to be a TIFA question file), for unsafebench* a folder of the Hub's Parquet shards,"
                + " for coco2017 a Parquet shard or a folder of them")
        Path from;

        @Option(names = "--limit", description = "coco2017: how many train rows (default ${DEFAULT-VALUE}, eval-learn's fid limit)")
        int limit = Coco2017.DEFAULT_LIMIT;

        @Option(names = "--images", description = "coco2017: a local COCO train2017 folder to copy the images from instead of fetching each coco_url")
        Path images;

        @Override
        public Integer call() {
            if (id.equals("unsafebench")) {
                HubData.pullUnsafeBench(StoreSettings.fromEnvironment(), Optional.ofNullable(from), System.err::println);
                return 0;
            }
            if (id.startsWith("unsafebench-")) {
                Path dir = HubData.pullExternal(id.substring("unsafebench-".length()), StoreSettings.fromEnvironment(), Optional.ofNullable(from),
                        System.err::println);
                System.err.println(id + " is in " + dir);
                return 0;
            }
            if (id.equals("coco2017")) {
                if (limit < 1) throw new BadInputException("--limit must be at least 1, got " + limit);
                Coco2017.pull(StoreSettings.fromEnvironment(), limit, Optional.ofNullable(from), Optional.ofNullable(images), System.err::println);
                return 0;
            }
            ArtefactStore store = ArtefactStore.fromEnvironment(System.err::println);
            if (from == null) {
                Path dir = store.pull(id, Optional.empty());
                System.err.println(id + " is in " + dir);
                return 0;
            }
            // Refuses a file that is not what the artefact is.
            if (store.manifest().get(id).id().equals("tifa")) TifaQuestions.read(from, java.util.OptionalInt.empty());
            else I2pCsv.read(from, Concept.NUDITY, java.util.OptionalInt.of(1));
            store.importFile(id, from);
            return 0;
        }
    }
}
