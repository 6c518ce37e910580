// The weights package: safetensors files, diffusers folders, and binding checkpoints to graphs.

export { bindWeights, COMMON_IGNORED_KEYS, WeightBindingError, type BindOptions, type ExpectedWeight, type WeightProblem } from './bind.js';
export { DiffusersPipelineFolder, parseModelIndex, readConfigFile, type ComponentSpec, type Config, type ModelIndex } from './diffusers.js';
export { findWeightFiles, openWeights, type FindWeightsOptions, type WeightFiles, type WeightStem } from './discovery.js';
export { JsonSyntaxError, parseJson, type JsonParseOptions } from './pyjson.js';
export { SafetensorsFile } from './safetensors-file.js';
export { safetensorsChunks, serializeSafetensors, writeSafetensors, type TensorDict } from './safetensors-write.js';
export { DTYPE_TO_SAFETENSORS, MAX_HEADER_BYTES, SAFETENSORS_DTYPES, type SafetensorsEntry, type SafetensorsHeader } from './safetensors.js';
export { WeightSet, type WeightEntry } from './weight-set.js';
export { readWeightData, type WeightInfo, type WeightSource } from './source.js';
export { bytesSource, fileSource, type ByteSource } from './byte-source.js';
export { ZipArchive, type ZipEntry } from './zip.js';
export { attributes, MAX_LONG_BYTES, unpickle, type UnpickleOptions } from './pickle/machine.js';
export { describe as describePickleValue, isDict, isList, isTuple, PyGlobal, PyObject, type GlobalHandler, type HandlerContext, type PickleKey, type PickleValue } from './pickle/values.js';
export { TorchCheckpoint, type InMemoryFile } from './torch/checkpoint.js';
export { a1111EmbeddingBytes, type SaveValue, torchSave } from './torch/save.js';
export { isTorchTensor, STORAGE_DTYPES, TorchStorage, TorchTensorRef, torchGlobals } from './torch/rebuild.js';
export { readEmbeddingFile, type EmbeddingFile } from './embedding-file.js';
export { readWeight } from './read-weight.js';
export { RefSource, reshaped, rows } from './ref-source.js';
export { openCheckpointSource, type CheckpointSource } from './single-file/checkpoint-source.js';
export { openSingleFile, type SingleFileCheckpoint, type SingleFileComponent, type SingleFileOptions } from './single-file/single-file.js';
export { detectFamily, type CheckpointFamily } from './single-file/detect.js';
export { parseLdmYaml, type YamlValue } from './single-file/ldm-yaml.js';
export { describeFile, describeText, type DescribedFile, type FileDescription } from './describe-file.js';
export { type DescribedComponent, type DescribedFolder, describeFolder, describeFolderText } from './describe-folder.js';
export { openLoraFile, type LoraFile, type LoraModule } from './lora/lora-file.js';
